import assert from "node:assert/strict";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertBuilt, repoRoot, start } from "./injectKit.js";
import {
  assertRestError,
  fastRetryOptions,
  localClient,
  loopbackClientOptions,
  requestLog,
  uniqueName,
} from "./integrationTestKit.js";
import { runScript } from "../helpers/childProcesses.js";
import { credentialSpy } from "../helpers/fakeCredential.js";

describe("integration: authentication under strictAuth", () => {
  let vault: LocalVault;

  before(async () => {
    vault = await startLocalVault({ delayMs: 30, strictAuth: true });
  });
  after(() => vault.close());

  it("works with the vault's credential after the 401 challenge, asking for the vault scope", async () => {
    const recorded = credentialSpy(vault.credential);
    const log = requestLog("perRetry");
    const client = new SecretClient(vault.vaultUrl, recorded.credential, {
      ...loopbackClientOptions,
      additionalPolicies: [log.config],
    });
    const name = uniqueName("strict");
    const set = await client.setSecret(name, "v");
    assert.equal(set.value, "v");
    assert.equal((await client.getSecret(name)).value, "v");
    assert.ok(recorded.calls.length >= 1);
    assert.deepEqual([recorded.calls[0].scopes].flat(), ["https://vault.azure.net/.default"]);
    assert.ok(log.requests.every((r) => r.status === 200 || (r.status === 401 && !r.authorized)));
    client.close();
  });

  it("gives back RestError 401 Unauthorized for a made-up token", async () => {
    const fake: TokenCredential = {
      getToken: async (): Promise<AccessToken> => ({
        token: "made-up-token",
        expiresOnTimestamp: Date.now() + 3_600_000,
      }),
    };
    const client = new SecretClient(vault.vaultUrl, fake, {
      ...loopbackClientOptions,
      retryOptions: fastRetryOptions,
    });
    const error = await assertRestError(client.getSecret(uniqueName("fake")), {
      statusCode: 401,
      code: "Unauthorized",
      message: /^AKV\d{5}: /,
    });
    assert.match(
      error.response?.headers.get("www-authenticate") ?? "",
      /^Bearer authorization="https:\/\/login\.microsoftonline\.com\/[^"]+", resource="https:\/\/vault\.azure\.net"$/,
    );
    assert.ok(!error.message.includes("made-up-token"), "the token never reaches an error message");
    client.close();
  });

  it("gives back RestError 401 for a token of the wrong audience", async () => {
    const wrongAudience: TokenCredential = {
      getToken: (_scopes, options) =>
        vault.credential.getToken("https://storage.azure.com/.default", options),
    };
    const client = new SecretClient(vault.vaultUrl, wrongAudience, loopbackClientOptions);
    await assertRestError(client.getSecret(uniqueName("aud")), {
      statusCode: 401,
      code: "Unauthorized",
      message:
        /^AKV10022: Invalid audience\. Expected https:\/\/vault\.azure\.net, found: https:\/\/storage\.azure\.com/,
    });
    client.close();
  });

  it("does a round trip with ManagedIdentityCredential through the vault's identity endpoint", async () => {
    const saved = {
      IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT,
      IDENTITY_HEADER: process.env.IDENTITY_HEADER,
    };
    process.env.IDENTITY_ENDPOINT = vault.identityEndpoint;
    process.env.IDENTITY_HEADER = vault.identityHeader;
    try {
      const credential = new ManagedIdentityCredential();
      const client = new SecretClient(vault.vaultUrl, credential, loopbackClientOptions);
      const name = uniqueName("msi");
      const set = await client.setSecret(name, "from managed identity");
      assert.equal(set.value, "from managed identity");
      const read = await client.getSecret(name);
      assert.equal(read.value, "from managed identity");
      assert.equal(read.properties.version, set.properties.version);
      client.close();
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});

describe("integration: a credential that cannot sign in to the local vault", () => {
  let vault: LocalVault;

  before(async () => {
    assertBuilt();
    vault = await startLocalVault({ delayMs: 30 });
  });
  after(() => vault.close());

  it("throws the credential's own error, its message saying how to point it at the local vault", async () => {
    // A process of its own: @azure/identity keeps managed identity tokens for the whole process.
    // Without IDENTITY_ENDPOINT, ManagedIdentityCredential asks MSI_ENDPOINT (Cloud Shell's): here
    // a path of the vault that is not an identity endpoint, so that it fails at once.
    const script = [
      `import { SecretClient } from ${JSON.stringify(pathToFileURL(join(repoRoot, "dist/esm/index.js")).href)};`,
      'import { CredentialUnavailableError, ManagedIdentityCredential } from "@azure/identity";',
      "const client = new SecretClient(process.env.KEYVAULT_URI, new ManagedIdentityCredential(), { allowInsecureConnection: true, disableChallengeResourceVerification: true });",
      "try { await client.getSecret('hint'); console.log('no error'); } catch (error) {",
      "  console.log(JSON.stringify({ name: error.name, sameClass: error instanceof CredentialUnavailableError, message: error.message }));",
      "} finally { client.close(); }",
    ].join("\n");
    const run = await start(process.execPath, ["--input-type=module", "-e", script], {
      PATH: process.env["PATH"],
      KEYVAULT_URI: vault.vaultUrl,
      MSI_ENDPOINT: `${vault.vaultUrl}/no-identity-here`,
    }).finished;
    assert.equal(run.code, 0, run.stderr);
    const error = JSON.parse(run.stdout) as { name: string; sameClass: boolean; message: string };
    assert.equal(error.name, "CredentialUnavailableError");
    assert.ok(error.sameClass, "the class users catch");
    assert.match(error.message, /^ManagedIdentityCredential/, "the credential's words first");
    for (const text of [
      `The vault is on this machine (${vault.vaultUrl}, a local vault?)`,
      `IDENTITY_ENDPOINT=${vault.vaultUrl}/__local/identity/token`,
      "IDENTITY_HEADER",
      "as keyvault-emulator prints them",
      "a credential with a fixed token",
    ]) {
      assert.ok(error.message.includes(text), `${text} not in: ${error.message}`);
    }
    assert.ok(!error.message.includes(vault.identityHeader), "a secret in the message");
  });
});

describe("integration: continuous access evaluation (claimsChallenge)", () => {
  let vault: LocalVault;

  before(async () => {
    vault = await startLocalVault({ delayMs: 30, strictAuth: true, claimsChallenge: true });
  });
  after(() => vault.close());

  it("answers a claims challenge transparently with a token carrying the claims", async () => {
    const recorded = credentialSpy(vault.credential);
    const log = requestLog("perRetry");
    const client = new SecretClient(vault.vaultUrl, recorded.credential, {
      ...loopbackClientOptions,
      additionalPolicies: [log.config],
    });
    const name = uniqueName("cae");
    const set = await client.setSecret(name, "v");
    assert.equal(set.value, "v");
    assert.equal((await client.getSecret(name)).value, "v");

    const withClaims = recorded.calls.filter((c) => c.claims !== undefined);
    assert.equal(withClaims.length, 1, "one new token, asked with the claims");
    const claims = JSON.parse(withClaims[0].claims ?? "");
    assert.equal(claims.access_token.nbf.essential, true);
    const authorized401 = log.requests.filter((r) => r.authorized && r.status === 401);
    assert.equal(authorized401.length, 1, "exactly one claims challenge was answered");
    assert.equal(log.requests[log.requests.length - 1].status, 200);
    client.close();
  });

  it("answers a claims challenge with a new token from the identity endpoint (a credential without a cache)", async () => {
    // As MSAL does for claims where it can: a new token from the endpoint, not the cached one.
    let fetched = 0;
    const appServiceCredential: TokenCredential = {
      async getToken(): Promise<AccessToken> {
        fetched++;
        const response = await fetch(
          `${vault.identityEndpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net`,
          { headers: { "x-identity-header": vault.identityHeader } },
        );
        const body = (await response.json()) as { access_token: string; expires_on: string };
        return { token: body.access_token, expiresOnTimestamp: Number(body.expires_on) * 1000 };
      },
    };
    const log = requestLog("perRetry");
    const client = new SecretClient(vault.vaultUrl, appServiceCredential, {
      ...loopbackClientOptions,
      additionalPolicies: [log.config],
    });
    const name = uniqueName("cae-msi");
    assert.equal((await client.setSecret(name, "v")).value, "v");
    assert.equal((await client.getSecret(name)).value, "v");
    assert.equal(fetched, 2, "one token, then one in answer to the claims challenge");
    const authorized401 = log.requests.filter((r) => r.authorized && r.status === 401);
    assert.equal(authorized401.length, 1, "one claims challenge, answered");
    client.close();
  });

  it("works end to end with ManagedIdentityCredential in a child process", async () => {
    const run = await runScript("test/integration/fixtures/managedIdentityClient.ts", [], {
      KEYVAULT_URI: vault.vaultUrl,
      IDENTITY_ENDPOINT: vault.identityEndpoint,
      IDENTITY_HEADER: vault.identityHeader,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout.trim()), { value: "signed in", authorized401: 1 });
  });

  it("works with a plain localClient too", async () => {
    const client = localClient(vault);
    const name = uniqueName("cae2");
    await client.setSecret(name, "again");
    assert.equal((await client.getSecret(name)).value, "again");
    client.close();
  });
});
