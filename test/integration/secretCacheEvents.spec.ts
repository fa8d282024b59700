/**
 * A SecretCache kept fresh by the local vault's events, through createEventGridHandler on a real
 * webhook (node:http): no refresh interval, no polling. And the handler's answers to everything
 * else a webhook may receive.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import type { LocalVaultEventSubscription } from "../../src/emulator/events/eventOptions.js";
import {
  createEventGridHandler,
  SecretCache,
  type EventGridHandlerOptions,
  type SecretCacheEventResult,
} from "../../src/secretCache/index.js";
import { localClient, uniqueName } from "./integrationTestKit.js";

/** The webhook's key, in the subscription's query as Event Grid endpoints carry it. */
const accessKey = "webhook-key-in-the-query";

type Listener = (req: IncomingMessage, res: ServerResponse) => void;
/** What stands before the handler (an Express body parser, in a test). */
type Wrapper = (handler: Listener) => Listener;

/** A webhook serving createEventGridHandler, and what it handled. */
class CacheWebhook {
  readonly results: SecretCacheEventResult[] = [];
  readonly errors: Error[] = [];
  private readonly waiters: Array<() => void> = [];
  private readonly server: Server;

  private constructor(cache: SecretCache, options: EventGridHandlerOptions, wrap?: Wrapper) {
    const handler = createEventGridHandler(cache, {
      ...options,
      onEvents: (result) => this.record(() => this.results.push(result)),
      onError: (error) => this.record(() => this.errors.push(error)),
    });
    this.server = createServer(wrap === undefined ? handler : wrap(handler));
  }

  static async start(
    cache: SecretCache,
    options: EventGridHandlerOptions = {},
    wrap?: Wrapper,
  ): Promise<CacheWebhook> {
    const webhook = new CacheWebhook(cache, options, wrap);
    await new Promise<void>((resolve) => webhook.server.listen(0, "127.0.0.1", resolve));
    return webhook;
  }

  url(pathAndQuery = `/events?code=${accessKey}`): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${pathAndQuery}`;
  }

  /** Resolves once `count` deliveries of events were handled (or failed). */
  async handled(count: number): Promise<void> {
    while (this.results.length + this.errors.length < count) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private record(push: () => void): void {
    push();
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** Adds a subscription with a token the vault issued (the only kind it takes). */
async function subscribe(vault: LocalVault, subscription: LocalVaultEventSubscription) {
  const token = await vault.credential.getToken("https://vault.azure.net/.default");
  const answer = await fetch(`${vault.vaultUrl}/__local/events/subscriptions`, {
    method: "POST",
    headers: { authorization: `Bearer ${token?.token}`, "content-type": "application/json" },
    body: JSON.stringify(subscription),
  });
  assert.equal(answer.status, 201, await answer.text());
}

/** The subscriptions' states, by endpoint without the query. */
async function subscriptionStates(vault: LocalVault): Promise<string[]> {
  const token = await vault.credential.getToken("https://vault.azure.net/.default");
  const answer = await fetch(`${vault.vaultUrl}/__local/events`, {
    headers: { authorization: `Bearer ${token?.token}` },
  });
  const status = (await answer.json()) as { subscriptions: Array<{ state: string }> };
  return status.subscriptions.map((subscription) => subscription.state);
}

describe("integration: SecretCache kept fresh by the local vault's events", () => {
  const vaults: LocalVault[] = [];
  const caches: SecretCache[] = [];
  const webhooks: CacheWebhook[] = [];

  afterEach(async () => {
    for (const cache of caches.splice(0)) cache.close();
    await Promise.all(webhooks.splice(0).map((webhook) => webhook.close()));
    await Promise.all(vaults.splice(0).map((vault) => vault.close()));
  });

  async function vaultAndClient(): Promise<{ vault: LocalVault; client: SecretClient }> {
    const vault = await startLocalVault({ delayMs: 0 });
    vaults.push(vault);
    return { vault, client: localClient(vault) };
  }

  /** A loaded cache of the vault with no refresh interval: only events refresh it. */
  async function loadedCache(client: SecretClient, prefix?: string): Promise<SecretCache> {
    const cache = new SecretCache(client, prefix === undefined ? {} : { prefix });
    caches.push(cache);
    await cache.load();
    return cache;
  }

  async function webhookOf(cache: SecretCache): Promise<CacheWebhook> {
    const webhook = await CacheWebhook.start(cache, { accessKey });
    webhooks.push(webhook);
    return webhook;
  }

  for (const schema of ["EventGridSchema", "CloudEventSchemaV1_0"] as const) {
    it(`reads a rotated secret when its event arrives (${schema}): handshake, then the new value, no polling`, async () => {
      const { vault, client } = await vaultAndClient();
      const name = uniqueName("rotated");
      await client.setSecret(name, "first-value");
      await client.setSecret(uniqueName("untouched"), "stays");
      const cache = await loadedCache(client);
      const changes: string[][] = [];
      cache.on("change", ({ updated }) => changes.push(updated));
      const webhook = await webhookOf(cache);
      await subscribe(vault, { endpoint: webhook.url(), schema });

      const rotated = await client.setSecret(name, "second-value");
      await webhook.handled(1);
      assert.deepEqual(webhook.errors, []);
      assert.deepEqual(webhook.results[0]?.refreshed, [name]);
      assert.deepEqual(webhook.results[0]?.change.details[0]?.version, rotated.properties.version);
      assert.equal(cache.get(name), "second-value");
      assert.deepEqual(changes, [[name]]);
      // The handler answered the handshake: the vault's subscription took events.
      assert.deepEqual(await subscriptionStates(vault), ["validated"]);
    });
  }

  it("ignores another vault's events and secrets outside the cache's filters", async () => {
    const mine = await vaultAndClient();
    const other = await vaultAndClient();
    const name = `app-${uniqueName("shared")}`;
    await mine.client.setSecret(name, "mine");
    const cache = await loadedCache(mine.client, "app-");
    const webhook = await webhookOf(cache);
    await subscribe(other.vault, { endpoint: webhook.url() });
    await subscribe(mine.vault, { endpoint: webhook.url() });

    // The same name in another vault: its data.Id names another host (port).
    await other.client.setSecret(name, "theirs");
    await webhook.handled(1);
    // A secret of this vault that the prefix filter leaves out.
    await mine.client.setSecret(uniqueName("outside"), "not cached");
    await webhook.handled(2);
    for (const result of webhook.results) {
      assert.deepEqual([result.refreshed, result.refreshedAll, result.ignored], [[], false, 1]);
    }
    assert.equal(cache.get(name), "mine");
    assert.equal(cache.size, 1);
  });
});

describe("integration: createEventGridHandler's answers", () => {
  let vault: LocalVault;
  let cache: SecretCache;
  const webhooks: CacheWebhook[] = [];

  before(async () => {
    vault = await startLocalVault({ delayMs: 0 });
    cache = new SecretCache(localClient(vault));
    await cache.load();
  });
  after(async () => {
    cache.close();
    await vault.close();
  });
  afterEach(() => Promise.all(webhooks.splice(0).map((webhook) => webhook.close())));

  async function webhookWith(
    options: EventGridHandlerOptions = {},
    wrap?: Wrapper,
  ): Promise<CacheWebhook> {
    const webhook = await CacheWebhook.start(cache, options, wrap);
    webhooks.push(webhook);
    return webhook;
  }

  const validation = [
    {
      id: "validation",
      topic: "/subscriptions/0/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v",
      subject: "",
      eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
      eventTime: "2026-01-01T00:00:00Z",
      data: { validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" },
      dataVersion: "1",
      metadataVersion: "1",
    },
  ];

  async function post(url: string, body: string, headers: Record<string, string> = {}) {
    const answer = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    return { status: answer.status, headers: answer.headers, text: await answer.text() };
  }

  it("answers Event Grid's validation with the code, and CloudEvents' OPTIONS with the allowed origin", async () => {
    const webhook = await webhookWith();
    const answer = await post(webhook.url("/events"), JSON.stringify(validation));
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.text), {
      validationResponse: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
    });
    assert.match(answer.headers.get("content-type") ?? "", /^application\/json/);

    const options = await fetch(webhook.url("/events"), {
      method: "OPTIONS",
      headers: { "webhook-request-origin": "eventgrid.azure.net" },
    });
    assert.equal(options.status, 200);
    assert.equal(options.headers.get("webhook-allowed-origin"), "eventgrid.azure.net");
    const stranger = await fetch(webhook.url("/events"), {
      method: "OPTIONS",
      headers: { "webhook-request-origin": "evil.example" },
    });
    assert.equal(stranger.status, 400);
    assert.equal(stranger.headers.get("webhook-allowed-origin"), null);
  });

  it("answers 400 for what is not Key Vault's events, never repeating the body", async () => {
    const webhook = await webhookWith();
    const hostile = "<script>never-echoed</script>";
    const bodies = [
      `{not json ${hostile}`,
      "",
      "[]",
      JSON.stringify([
        {
          eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
          metadataVersion: "1",
          id: hostile,
        },
      ]),
      JSON.stringify([{ ...validation[0], data: { validationCode: 42 } }]),
      JSON.stringify({ specversion: "1.0", type: "Microsoft.KeyVault.SecretExpired", id: hostile }),
    ];
    for (const body of bodies) {
      const answer = await post(webhook.url("/events"), body);
      assert.equal(answer.status, 400, `${answer.text} for ${body}`);
      assert.equal(JSON.parse(answer.text).error.code, "BadRequest");
      assert.ok(!answer.text.includes("never-echoed"), answer.text);
    }
    assert.deepEqual([webhook.results, webhook.errors], [[], []]);
  });

  it("bounds the body (413), takes only POST and OPTIONS (405), and only requests with its key (401)", async () => {
    const webhook = await webhookWith({ maxBodyBytes: 1024, accessKey });
    const large = JSON.stringify([{ padding: "x".repeat(2048) }]);
    assert.equal((await post(webhook.url(), large)).status, 413);
    // Without a content-length (chunked): counted while read.
    const chunked = await fetch(webhook.url(), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Blob([large]).stream(),
      duplex: "half",
    } as RequestInit);
    assert.equal(chunked.status, 413);
    const get = await fetch(webhook.url());
    assert.deepEqual([get.status, get.headers.get("allow")], [405, "POST, OPTIONS"]);
    for (const url of [webhook.url("/events"), webhook.url("/events?code=wrong")]) {
      const refused = await post(url, JSON.stringify(validation));
      assert.equal(refused.status, 401);
      assert.ok(!refused.text.includes("512d38b6"));
    }
    assert.equal((await post(webhook.url(), JSON.stringify(validation))).status, 200);
  });

  it("takes a body an Express parser read before it (req.body), and says so when none was left", async () => {
    const parsedFirst =
      (kind: "json" | "text" | "nothing"): Wrapper =>
      (handler) =>
      (req: IncomingMessage & { body?: unknown }, res) => {
        let text = "";
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => (text += chunk));
        req.on("end", () => {
          if (kind === "json") req.body = JSON.parse(text);
          if (kind === "text") req.body = text;
          handler(req, res);
        });
      };
    for (const kind of ["json", "text"] as const) {
      const webhook = await webhookWith({}, parsedFirst(kind));
      const answer = await post(webhook.url("/events"), JSON.stringify(validation));
      assert.equal(answer.status, 200, `${kind}: ${answer.text}`);
      assert.equal(JSON.parse(answer.text).validationResponse, validation[0].data.validationCode);
    }
    const drained = await webhookWith({}, parsedFirst("nothing"));
    const answer = await post(drained.url("/events"), JSON.stringify(validation));
    assert.equal(answer.status, 400);
    assert.match(JSON.parse(answer.text).error.message, /read before the handler/);
  });

  it("answers 500 when the events cannot be handled (Event Grid delivers them again), and reports why", async () => {
    const closed = new SecretCache(localClient(vault));
    closed.close();
    const webhook = await CacheWebhook.start(closed);
    webhooks.push(webhook);
    const event = {
      ...validation[0],
      eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
      subject: "name",
      data: {
        Id: `${vault.vaultUrl}/secrets/name/0123abcd`,
        VaultName: "localvault",
        ObjectType: "Secret",
        ObjectName: "name",
        Version: "0123abcd",
        NBF: null,
        EXP: null,
      },
    };
    const answer = await post(webhook.url("/events"), JSON.stringify([event]));
    assert.equal(answer.status, 500);
    assert.equal(JSON.parse(answer.text).error.code, "InternalError");
    await webhook.handled(1);
    assert.match(webhook.errors[0]?.message ?? "", /after close\(\)/);
  });
});
