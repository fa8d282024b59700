import assert from "node:assert/strict";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertVaultError, callVault, notFoundMessage } from "./localVaultTestKit.js";

const versionPattern = /^[0-9a-f]{32}$/;

function versionOf(id: string): string {
  return id.slice(id.lastIndexOf("/") + 1);
}

describe("local vault: secret operations", () => {
  let vault: LocalVault;
  let base: string;

  before(async () => {
    vault = await startLocalVault({ delayMs: 20, hostnames: ["myvault.vault.azure.net"] });
    base = vault.vaultUrl;
  });
  beforeEach(() => vault.reset());
  after(() => vault.close());

  it("starts on a loopback URL without trailing slash", () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(vault.identityEndpoint, `${base}/__local/identity/token`);
    assert.match(vault.identityHeader, /^[0-9a-f]{32}$/);
    assert.equal(vault.caCertificate, undefined);
  });

  it("set answers 200 with the bundle, a new version and the service headers", async () => {
    const before = Math.floor(Date.now() / 1000);
    const answer = await callVault(vault, "PUT", "/secrets/MySecret", {
      body: { value: "v1", contentType: "text/plain", tags: { env: "test" } },
      headers: { "x-ms-client-request-id": "client-1" },
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal(answer.headers.get("cache-control"), "no-cache");
    assert.equal(answer.headers.get("x-ms-keyvault-region"), "local");
    assert.ok(answer.headers.get("x-ms-keyvault-service-version"));
    assert.match(answer.headers.get("x-ms-request-id") ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(answer.headers.get("x-ms-client-request-id"), "client-1");
    const { id, attributes, ...rest } = answer.body;
    assert.match(id, new RegExp(`^${base}/secrets/MySecret/[0-9a-f]{32}$`));
    assert.deepEqual(rest, { value: "v1", contentType: "text/plain", tags: { env: "test" } });
    assert.equal(attributes.enabled, true);
    assert.ok(Number.isInteger(attributes.created) && attributes.created >= before);
    assert.equal(attributes.updated, attributes.created);
    assert.equal(attributes.recoveryLevel, "Recoverable+Purgeable");
    assert.equal(attributes.recoverableDays, 90);
    assert.deepEqual(Object.keys(attributes), [
      "enabled",
      "created",
      "updated",
      "recoveryLevel",
      "recoverableDays",
    ]);
  });

  it("omits unset fields instead of sending nulls", async () => {
    const answer = await callVault(vault, "PUT", "/secrets/bare", { body: { value: "x" } });
    assert.equal(answer.status, 200);
    assert.deepEqual(Object.keys(answer.body), ["value", "id", "attributes"]);
    assert.ok(!answer.text.includes("null"));
  });

  it("makes a new version on every set and get returns the latest", async () => {
    const first = await callVault(vault, "PUT", "/secrets/multi", { body: { value: "one" } });
    const second = await callVault(vault, "PUT", "/secrets/multi", { body: { value: "two" } });
    const v1 = versionOf(first.body.id);
    const v2 = versionOf(second.body.id);
    assert.match(v1, versionPattern);
    assert.match(v2, versionPattern);
    assert.notEqual(v1, v2);
    const latest = await callVault(vault, "GET", "/secrets/multi");
    assert.equal(latest.status, 200);
    assert.equal(latest.body.value, "two");
    assert.equal(latest.body.id, second.body.id);
    const old = await callVault(vault, "GET", `/secrets/multi/${v1}`);
    assert.equal(old.status, 200);
    assert.equal(old.body.value, "one");
    assert.equal(old.body.id, first.body.id);
  });

  it("treats a trailing slash as the latest version and accepts a double slash", async () => {
    const set = await callVault(vault, "PUT", "//secrets/slashy", { body: { value: "s" } });
    assert.equal(set.status, 200);
    assert.equal(set.body.id.startsWith(`${base}/secrets/slashy/`), true);
    const trailing = await callVault(vault, "GET", "/secrets/slashy/");
    assert.equal(trailing.status, 200);
    assert.equal(trailing.body.id, set.body.id);
    const double = await callVault(vault, "GET", "//secrets/slashy");
    assert.equal(double.status, 200);
    assert.equal(double.body.value, "s");
  });

  it("compares names case-insensitively and keeps the original casing in ids", async () => {
    await callVault(vault, "PUT", "/secrets/CamelCase", { body: { value: "a" } });
    const second = await callVault(vault, "PUT", "/secrets/camelcase", { body: { value: "b" } });
    assert.match(second.body.id, new RegExp(`^${base}/secrets/CamelCase/`));
    const got = await callVault(vault, "GET", "/secrets/CAMELCASE");
    assert.equal(got.body.value, "b");
    const versions = await callVault(vault, "GET", "/secrets/camelCASE/versions");
    assert.equal(versions.body.value.length, 2);
  });

  it("builds ids from the request Host header, when it names the vault", async () => {
    // fetch may not override Host, so this goes through node:http.
    const answer = await callVault(vault, "PUT", "/secrets/hosted", {
      body: { value: "h" },
      headers: { host: "myvault.vault.azure.net:443" },
    });
    assert.equal(answer.status, 200);
    assert.match(answer.body.id, /^http:\/\/myvault\.vault\.azure\.net:443\/secrets\/hosted\//);
  });

  it("answers 404 SecretNotFound for an unknown name or version", async () => {
    assertVaultError(
      await callVault(vault, "GET", "/secrets/missing"),
      404,
      "SecretNotFound",
      notFoundMessage("missing"),
    );
    await callVault(vault, "PUT", "/secrets/present", { body: { value: "p" } });
    const version = "0123456789abcdef0123456789abcdef";
    assertVaultError(
      await callVault(vault, "GET", `/secrets/present/${version}`),
      404,
      "SecretNotFound",
      notFoundMessage(`present/${version}`),
    );
  });

  it("update changes only the given fields and answers without value", async () => {
    const set = await callVault(vault, "PUT", "/secrets/upd", {
      body: { value: "keep", contentType: "a", tags: { t: "1" } },
    });
    const update = await callVault(vault, "PATCH", "/secrets/upd", {
      body: { contentType: "b", value: "ignored", attributes: { nbf: 100, exp: 2000000000 } },
    });
    assert.equal(update.status, 200);
    assert.equal(update.body.value, undefined);
    assert.equal(update.body.id, set.body.id);
    assert.equal(update.body.contentType, "b");
    assert.deepEqual(update.body.tags, { t: "1" });
    assert.equal(update.body.attributes.nbf, 100);
    assert.equal(update.body.attributes.exp, 2000000000);
    assert.equal(update.body.attributes.enabled, true);
    const got = await callVault(vault, "GET", "/secrets/upd");
    assert.equal(got.body.value, "keep");
    assert.equal(got.body.contentType, "b");
  });

  it("update with an empty version changes the latest; an old version stays old", async () => {
    const first = await callVault(vault, "PUT", "/secrets/upv", { body: { value: "1" } });
    const second = await callVault(vault, "PUT", "/secrets/upv", { body: { value: "2" } });
    const latest = await callVault(vault, "PATCH", "/secrets/upv/", { body: { tags: { a: "b" } } });
    assert.equal(latest.status, 200);
    assert.equal(latest.body.id, second.body.id);
    const old = await callVault(vault, "PATCH", `/secrets/upv/${versionOf(first.body.id)}`, {
      body: { contentType: "old" },
    });
    assert.equal(old.status, 200);
    assert.equal(old.body.id, first.body.id);
    const got = await callVault(vault, "GET", "/secrets/upv");
    assert.equal(got.body.id, second.body.id);
    assert.deepEqual(got.body.tags, { a: "b" });
    assert.equal(got.body.contentType, undefined);
  });

  it("answers 403 SecretDisabled on get of a disabled secret, nbf/exp are informational", async () => {
    await callVault(vault, "PUT", "/secrets/off", {
      body: { value: "x", attributes: { enabled: false } },
    });
    assertVaultError(
      await callVault(vault, "GET", "/secrets/off"),
      403,
      "Forbidden",
      "Operation get is not allowed on a disabled secret.",
      "SecretDisabled",
    );
    const enabled = await callVault(vault, "PATCH", "/secrets/off", {
      body: { attributes: { enabled: true } },
    });
    assert.equal(enabled.status, 200);
    assert.equal((await callVault(vault, "GET", "/secrets/off")).status, 200);
    await callVault(vault, "PUT", "/secrets/expired", {
      body: { value: "x", attributes: { exp: 1000, nbf: 10 } },
    });
    const expired = await callVault(vault, "GET", "/secrets/expired");
    assert.equal(expired.status, 200);
    assert.equal(expired.body.attributes.exp, 1000);
  });

  it("list gives one item per name with base id, latest attributes and no value", async () => {
    await callVault(vault, "PUT", "/secrets/b-list", { body: { value: "1" } });
    await callVault(vault, "PUT", "/secrets/b-list", { body: { value: "2", contentType: "ct" } });
    await callVault(vault, "PUT", "/secrets/A-list", { body: { value: "3", tags: { x: "y" } } });
    const answer = await callVault(vault, "GET", "/secrets");
    assert.equal(answer.status, 200);
    assert.equal(answer.body.nextLink, null);
    assert.deepEqual(
      answer.body.value.map((i: { id: string }) => i.id),
      [`${base}/secrets/A-list`, `${base}/secrets/b-list`],
    );
    assert.equal(answer.body.value[1].contentType, "ct");
    assert.deepEqual(answer.body.value[0].tags, { x: "y" });
    assert.ok(answer.body.value.every((i: object) => !("value" in i)));
  });

  it("list versions gives versioned ids ordered by version id, as the service does", async () => {
    const ids: string[] = [];
    for (const value of ["a", "b", "c"]) {
      ids.push((await callVault(vault, "PUT", "/secrets/vers", { body: { value } })).body.id);
    }
    const answer = await callVault(vault, "GET", "/secrets/vers/versions");
    assert.equal(answer.status, 200);
    assert.deepEqual(
      answer.body.value.map((i: { id: string }) => i.id),
      [...ids].sort(),
    );
    assert.ok(answer.body.value.every((i: object) => !("value" in i)));
    const unknown = await callVault(vault, "GET", "/secrets/nothing/versions");
    assert.equal(unknown.status, 200);
    assert.deepEqual(unknown.body, { value: [], nextLink: null });
  });

  it("never reports previousVersion on plain secrets, however many versions (certificates only)", async () => {
    for (const apiVersion of ["2025-07-01", "2026-04-01", "2026-03-01-preview"]) {
      const answers = [];
      for (const value of ["1", "2", "3"]) {
        answers.push(
          await callVault(vault, "PUT", "/secrets/prev", { body: { value }, apiVersion }),
        );
      }
      answers.push(await callVault(vault, "GET", "/secrets/prev", { apiVersion }));
      answers.push(
        await callVault(vault, "PATCH", "/secrets/prev", { body: { tags: {} }, apiVersion }),
      );
      for (const answer of answers) {
        assert.equal(answer.status, 200);
        assert.ok(!("previousVersion" in answer.body), JSON.stringify(answer.body));
      }
    }
  });

  it("leaves recoverableDays out before api-version 7.1", async () => {
    const answer = await callVault(vault, "PUT", "/secrets/old-api", {
      body: { value: "x" },
      apiVersion: "7.0",
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.attributes.recoverableDays, undefined);
    assert.equal(answer.body.attributes.recoveryLevel, "Recoverable+Purgeable");
    const legacy = await callVault(vault, "GET", "/secrets/old-api", { apiVersion: "2016-10-01" });
    assert.equal(legacy.status, 200);
  });

  it("reset forgets every secret, active and deleted", async () => {
    await callVault(vault, "PUT", "/secrets/gone", { body: { value: "x" } });
    await callVault(vault, "PUT", "/secrets/gone2", { body: { value: "x" } });
    await callVault(vault, "DELETE", "/secrets/gone2");
    vault.reset();
    assert.deepEqual((await callVault(vault, "GET", "/secrets")).body.value, []);
    assert.deepEqual((await callVault(vault, "GET", "/deletedsecrets")).body.value, []);
  });

  it("never loses a version under concurrent sets", async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        callVault(vault, "PUT", "/secrets/busy", { body: { value: String(i) } }),
      ),
    );
    assert.ok(answers.every((a) => a.status === 200));
    const versions = await callVault(vault, "GET", "/secrets/busy/versions");
    assert.equal(versions.body.value.length, 20);
  });
});
