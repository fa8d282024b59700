/**
 * The load behind `run` and the preload against a vault behind nock: the summary line (counts,
 * names under verbose) and the refusal of a load whose filters matched nothing.
 */
import assert from "node:assert/strict";
import nock from "nock";
import { InjectError } from "../../../src/inject/connection.js";
import { EnvironmentSource } from "../../../src/inject/environmentSource.js";
import { ReloadError } from "../../../src/inject/vaultSecrets.js";
import {
  checkSettings,
  loadEnvironment,
  loadSummary,
  settingsFromEnvironment,
  type InjectSettings,
} from "../../../src/inject/loadEnvironment.js";
import { fixedTokenCredential } from "../../helpers/fakeCredential.js";
import { challengeHeader, token, vaultUrl } from "../client/helpers.js";

const now = Math.floor(Date.now() / 1000);
const attributes = { enabled: true, created: now, updated: now };

/** A secret of the vault: its value, tags and dates. */
interface Stored {
  value: string;
  tags?: Record<string, string>;
  exp?: number;
}

/** The vault behind nock: a challenge without the token, one list page, each secret by name. */
function vaultHolding(secrets: Record<string, Stored>): void {
  nock(vaultUrl)
    .persist()
    .get(() => true)
    .reply(function (uri) {
      if (this.req.headers.authorization !== `Bearer ${token}`) {
        return [401, { error: { code: "Unauthorized" } }, { "WWW-Authenticate": challengeHeader }];
      }
      const path = uri.split("?")[0]!.replace(/\/$/, "");
      const dated = (stored: Stored) => ({
        ...attributes,
        ...(stored.exp ? { exp: stored.exp } : {}),
      });
      if (path === "/secrets") {
        const value = Object.entries(secrets).map(([name, stored]) => ({
          id: `${vaultUrl}/secrets/${name}`,
          attributes: dated(stored),
          ...(stored.tags === undefined ? {} : { tags: stored.tags }),
        }));
        return [200, { value }];
      }
      const name = path.slice("/secrets/".length);
      const stored = secrets[name];
      if (stored === undefined) {
        return [
          404,
          {
            error: {
              code: "SecretNotFound",
              message: `A secret with (name/id) ${name} was not found in this key vault.`,
            },
          },
        ];
      }
      const id = `${vaultUrl}/secrets/${name}/${"0".repeat(32)}`;
      return [200, { value: stored.value, id, attributes: dated(stored), tags: stored.tags }];
    });
}

const credentials = async () => ({
  azure: fixedTokenCredential(token),
  localVault: fixedTokenCredential(token),
});

/** Settings of `run` (its flags' names in messages). */
function runSettings(overrides: Partial<InjectSettings> = {}): InjectSettings {
  return checkSettings(
    {
      vaultUrl,
      prefix: undefined,
      names: undefined,
      tag: undefined,
      envPrefix: "",
      stripPrefix: false,
      override: false,
      allowMissing: false,
      allowEmpty: false,
      verbose: false,
      referenceVaults: { text: "", source: "--reference-vault" },
      ...overrides,
    },
    {
      prefix: "--prefix",
      stripPrefix: "--strip-prefix",
      names: "--names",
      tag: "--tag",
      allowEmpty: "pass --allow-empty (or set KEYVAULT_SECRETS_ALLOW_EMPTY=true)",
    },
  );
}

async function loadFailure(settings: InjectSettings, env = {}): Promise<InjectError> {
  try {
    await loadEnvironment(settings, env, credentials);
  } catch (error) {
    assert.ok(error instanceof InjectError, `got ${String(error)}`);
    return error;
  }
  assert.fail("expected the load to fail");
}

const values = ["orders-value-1", "billing-value-2", "old-value-3"];

describe("loadEnvironment", () => {
  before(() => nock.disableNetConnect());
  beforeEach(() =>
    vaultHolding({
      "orders-db": { value: values[0]!, tags: { app: "orders" } },
      "billing-key": { value: values[1]!, tags: { app: "billing" } },
      "legacy-old": { value: values[2]!, exp: now - 3600 },
    }),
  );
  afterEach(() => nock.cleanAll());
  after(() => nock.enableNetConnect());

  describe("when the filters match nothing", () => {
    it("fails, naming the prefix, the vault and --allow-empty, and no value", async () => {
      const error = await loadFailure(runSettings({ prefix: "ordres-" }));
      assert.equal(error.exitCode, 1);
      assert.equal(
        error.message,
        `Nothing was loaded: no secret of ${vaultUrl} matched --prefix "ordres-". Check the filter (a prefix matches the start of a name in any case; a tag, its name and value exactly), or pass --allow-empty (or set KEYVAULT_SECRETS_ALLOW_EMPTY=true) to start with no secrets.`,
      );
      for (const value of values) assert.ok(!error.message.includes(value));
      assert.ok(!error.message.includes(token));
    });

    it("names the tag, and both filters together", async () => {
      const tagged = await loadFailure(runSettings({ tag: { name: "app", value: "Billing" } }));
      assert.match(
        tagged.message,
        /no secret of \S+ matched --tag "app=Billing"\. Check the filter /,
      );
      const both = await loadFailure(
        runSettings({ prefix: "orders-", tag: { name: "app", value: "billing" } }),
      );
      assert.match(
        both.message,
        /matched --prefix "orders-" and --tag "app=billing"\. Check the filters /,
      );
    });

    it("names the secrets that matched but are expired", async () => {
      const error = await loadFailure(runSettings({ prefix: "legacy-" }));
      assert.match(
        error.message,
        /matched --prefix "legacy-" \(matched, but expired or not yet valid: legacy-old\)\./,
      );
    });

    it("names --names when every secret it lists is expired", async () => {
      const error = await loadFailure(runSettings({ names: ["legacy-old"] }));
      assert.match(
        error.message,
        /^Nothing was loaded: no secret of \S+ matched --names "legacy-old" \(matched, but expired or not yet valid: legacy-old\)\. Check the filter /,
      );
    });

    it("says the vault holds nothing readable when there is no filter", async () => {
      nock.cleanAll();
      vaultHolding({});
      const error = await loadFailure(runSettings());
      assert.equal(
        error.message,
        `Nothing was loaded: ${vaultUrl} holds no enabled secret that can be read. Check the vault URL, or pass --allow-empty (or set KEYVAULT_SECRETS_ALLOW_EMPTY=true) to start with no secrets.`,
      );
    });

    it("speaks in the preload's variables for the preload", async () => {
      const settings = settingsFromEnvironment({
        KEYVAULT_URI: vaultUrl,
        KEYVAULT_SECRETS_PREFIX: "ordres-",
      });
      const error = await loadFailure(settings);
      assert.match(error.message, /matched KEYVAULT_SECRETS_PREFIX "ordres-"\./);
      assert.match(
        error.message,
        /or set KEYVAULT_SECRETS_ALLOW_EMPTY=true to start with no secrets\.$/,
      );
    });

    it("loads nothing and says so with allowEmpty", async () => {
      const settings = runSettings({ prefix: "ordres-", allowEmpty: true });
      const result = await loadEnvironment(settings, {}, credentials);
      assert.deepEqual(result.variables, {});
      assert.equal(loadSummary(result, settings), `loaded 0 secrets from ${vaultUrl}`);
    });

    it("does not fail when names are allowed to be missing", async () => {
      const settings = runSettings({ names: ["gone"], allowMissing: true });
      const result = await loadEnvironment(settings, {}, credentials);
      assert.deepEqual(result.missing, ["gone"]);
      assert.deepEqual(result.loaded, []);
    });
  });

  describe("the summary line", () => {
    it("counts secrets in words: 1 secret, 2 secrets", async () => {
      const one = runSettings({ prefix: "orders-" });
      assert.equal(
        loadSummary(await loadEnvironment(one, {}, credentials), one),
        `loaded 1 secret from ${vaultUrl}`,
      );
      const two = runSettings();
      assert.equal(
        loadSummary(await loadEnvironment(two, {}, credentials), two),
        `loaded 2 secrets from ${vaultUrl}`,
      );
    });

    it("names the secrets, references and variables kept only when verbose, never a value", async () => {
      const env = {
        BILLING_KEY: "set already",
        REFERENCE: `@Microsoft.KeyVault(SecretUri=${vaultUrl}/secrets/orders-db/)`,
      };
      const quiet = runSettings();
      const quietLine = loadSummary(await loadEnvironment(quiet, env, credentials), quiet);
      assert.equal(quietLine, `loaded 2 secrets from ${vaultUrl}; resolved 1 reference`);
      const verbose = runSettings({ verbose: true });
      const line = loadSummary(await loadEnvironment(verbose, env, credentials), verbose)!;
      assert.equal(
        line,
        `loaded 2 secrets from ${vaultUrl}: billing-key, orders-db; resolved 1 reference: REFERENCE; already set, kept: BILLING_KEY`,
      );
      for (const value of values) assert.ok(!line.includes(value));
    });

    it("starts an app with references only and no vault, and counts the references", async () => {
      const settings = runSettings({ vaultUrl: undefined });
      const env = {
        A: `@Microsoft.KeyVault(SecretUri=${vaultUrl}/secrets/orders-db/)`,
        B: `@Microsoft.KeyVault(VaultName=myvault;SecretName=billing-key)`,
      };
      const result = await loadEnvironment(settings, env, credentials);
      assert.deepEqual(result.variables, { A: values[0], B: values[1] });
      assert.equal(loadSummary(result, settings), "resolved 2 references");
    });

    it("is no line at all when there was nothing to load", async () => {
      const settings = runSettings({ vaultUrl: undefined });
      assert.equal(
        loadSummary(await loadEnvironment(settings, {}, credentials), settings),
        undefined,
      );
    });
  });

  describe("while watching (EnvironmentSource.reload)", () => {
    /** A vault whose secrets a test changes between reads. */
    function changingVault(): Record<string, Stored> {
      nock.cleanAll();
      const secrets: Record<string, Stored> = { "orders-db": { value: values[0]! } };
      vaultHolding(secrets);
      return secrets;
    }

    it("takes a reload that matches nothing as a failed read: the values stay", async () => {
      const secrets = changingVault();
      const settings = runSettings({ prefix: "orders-" });
      const source = await EnvironmentSource.open(
        settings,
        {},
        { credentialsFactory: credentials },
      );
      try {
        delete secrets["orders-db"];
        const error = await source.reload().then(
          () => assert.fail("expected the reload to fail"),
          (reason: unknown) => reason,
        );
        assert.ok(error instanceof ReloadError, String(error));
        assert.equal(
          error.message,
          `no secret of ${vaultUrl} matched --prefix "orders-"; a read that matches nothing changes nothing (check the filter (a prefix matches the start of a name in any case; a tag, its name and value exactly), or pass --allow-empty (or set KEYVAULT_SECRETS_ALLOW_EMPTY=true) to apply such a read: the variables are then removed)`,
        );
        assert.deepEqual(source.result.variables, { ORDERS_DB: values[0] });
        assert.deepEqual(source.result.loaded, ["orders-db"]);
      } finally {
        source.close();
      }
    });

    it("applies a reload that matches nothing with allowEmpty: the variables are removed", async () => {
      const secrets = changingVault();
      const settings = runSettings({ prefix: "orders-", allowEmpty: true });
      const source = await EnvironmentSource.open(
        settings,
        {},
        { credentialsFactory: credentials },
      );
      try {
        delete secrets["orders-db"];
        const { result } = await source.reload();
        assert.deepEqual(result.variables, {});
        assert.deepEqual(result.loaded, []);
      } finally {
        source.close();
      }
    });

    it("fails a first read of watching (the preload's worker) as a reload, not as a start", async () => {
      changingVault();
      const settings = settingsFromEnvironment({
        KEYVAULT_URI: vaultUrl,
        KEYVAULT_SECRETS_PREFIX: "billing-",
      });
      await assert.rejects(
        EnvironmentSource.open(settings, {}, { credentialsFactory: credentials, reading: "watch" }),
        (error: unknown) =>
          error instanceof ReloadError &&
          /matched KEYVAULT_SECRETS_PREFIX "billing-"; a read that matches nothing changes nothing .*set KEYVAULT_SECRETS_ALLOW_EMPTY=true to apply such a read/.test(
            error.message,
          ),
      );
    });
  });
});
