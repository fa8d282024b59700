/**
 * The official @azure/keyvault-secrets client with its challenge-resource verification left on,
 * against a local vault addressed as `myvault.localhost:<port>`: the vault challenges with the
 * parent of that name (`https://localhost:<port>`), which every official client accepts, and
 * takes tokens for it, from `vault.credential` and from its identity endpoint.
 *
 * `*.localhost` does not resolve through glibc without a hosts line; the clients here resolve it
 * to 127.0.0.1 through their agent's `lookup`, as an `/etc/hosts` line would for every program.
 */
import assert from "node:assert/strict";
import { lookup as dnsLookup } from "node:dns";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { LookupFunction } from "node:net";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { SecretClient as OfficialSecretClient } from "@azure/keyvault-secrets";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { collect, uniqueName } from "../integration/integrationTestKit.js";

const intervalInMs = 10;

/** Resolves `*.localhost` to 127.0.0.1, every other name through DNS. */
const loopbackLookup: LookupFunction = (hostname, options, callback) => {
  if (!hostname.toLowerCase().endsWith(".localhost")) {
    dnsLookup(hostname, options, callback);
    return;
  }
  if (options.all === true) callback(null, [{ address: "127.0.0.1", family: 4 }]);
  else callback(null, "127.0.0.1", 4);
};

/** A per-call policy that sends every request through an agent. */
function agentPolicy(agent: HttpAgent): PipelinePolicy {
  return {
    name: "loopbackNames",
    sendRequest: (request, next) => {
      request.agent = agent;
      return next(request);
    },
  };
}

/** The URL of a vault addressed by a name under localhost (its port kept). */
function namedUrl(vault: LocalVault, name: string): string {
  const url = new URL(vault.vaultUrl);
  url.hostname = name;
  return url.origin;
}

/**
 * The App Service managed identity protocol, as `ManagedIdentityCredential` speaks it with
 * `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` set (its identity library keeps the first endpoint it
 * saw for the whole process, so a test with a vault of its own asks the endpoint directly).
 * @param vault - the vault whose endpoint issues the tokens
 * @returns the credential
 */
function identityEndpointCredential(vault: LocalVault): TokenCredential {
  return {
    getToken: async (scopes) => {
      const scope = Array.isArray(scopes) ? scopes[0] : scopes;
      const url = new URL(vault.identityEndpoint);
      url.searchParams.set("api-version", "2019-08-01");
      url.searchParams.set("resource", scope.replace(/\/\.default$/, ""));
      const response = await fetch(url, {
        headers: { "x-identity-header": vault.identityHeader },
      });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { access_token: string; expires_on: string };
      return { token: body.access_token, expiresOnTimestamp: Number(body.expires_on) * 1000 };
    },
  };
}

/** A credential that remembers the scopes it was asked for. */
class ScopeLog implements TokenCredential {
  readonly scopes: string[] = [];
  constructor(private readonly inner: TokenCredential) {}
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
    return this.inner.getToken(scopes, options);
  }
}

describe("interop: the official client with challenge verification on", () => {
  describe("over HTTPS, as myvault.localhost", () => {
    let vault: LocalVault;
    let agent: HttpsAgent;
    let url: string;
    let credential: ScopeLog;
    let client: OfficialSecretClient;

    before(async () => {
      vault = await startLocalVault({
        https: true,
        hostnames: ["myvault.localhost"],
        strictAuth: true,
        delayMs: 20,
        restoreConflictAfterPurgeInMs: 0,
      });
      agent = new HttpsAgent({ ca: vault.caCertificate, lookup: loopbackLookup });
      url = namedUrl(vault, "myvault.localhost");
      credential = new ScopeLog(vault.credential);
      // No disableChallengeResourceVerification: the client's own check runs.
      client = new OfficialSecretClient(url, credential, {
        retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 50 },
        additionalPolicies: [{ policy: agentPolicy(agent), position: "perCall" }],
      });
    });
    after(async () => {
      agent.destroy();
      await vault.close();
    });

    it("challenges with the parent of the name it was reached by, port included", async () => {
      const port = new URL(url).port;
      await client.setSecret(uniqueName("challenge"), "v");
      assert.deepEqual([...new Set(credential.scopes)], [`https://localhost:${port}/.default`]);
    });

    it("runs every method of the client", async () => {
      const name = uniqueName("every");
      const set = await client.setSecret(name, "first", { contentType: "text/plain" });
      assert.equal(set.properties.vaultUrl, url);
      await client.setSecret(name, "second");
      assert.equal((await client.getSecret(name)).value, "second");
      assert.equal(
        (await client.getSecret(name, { version: set.properties.version })).value,
        "first",
      );
      const updated = await client.updateSecretProperties(name, set.properties.version!, {
        tags: { verified: "on" },
      });
      assert.deepEqual(updated.tags, { verified: "on" });
      const names = (await collect(client.listPropertiesOfSecrets())).map((p) => p.name);
      assert.ok(names.includes(name));
      assert.equal((await collect(client.listPropertiesOfSecretVersions(name))).length, 2);
      const backup = await client.backupSecret(name);
      assert.ok(backup !== undefined && backup.length > 0);

      const deleted = await (
        await client.beginDeleteSecret(name, { intervalInMs })
      ).pollUntilDone();
      assert.equal(deleted.name, name);
      assert.equal((await client.getDeletedSecret(name)).name, name);
      const deletedNames = (await collect(client.listDeletedSecrets())).map((d) => d.name);
      assert.ok(deletedNames.includes(name));
      await (await client.beginRecoverDeletedSecret(name, { intervalInMs })).pollUntilDone();
      assert.equal((await client.getSecret(name)).value, "second");

      await (await client.beginDeleteSecret(name, { intervalInMs })).pollUntilDone();
      await client.purgeDeletedSecret(name);
      const restored = await client.restoreSecretBackup(backup!);
      assert.equal(restored.name, name);
      assert.equal((await client.getSecret(name)).value, "second");
    });

    it("keeps the service's challenge for 127.0.0.1, which the same check refuses", async () => {
      const direct = new OfficialSecretClient(vault.vaultUrl, vault.credential, {
        retryOptions: { maxRetries: 0 },
        additionalPolicies: [{ policy: agentPolicy(agent), position: "perCall" }],
      });
      await assert.rejects(
        direct.getSecret(uniqueName("direct")),
        /The challenge resource 'vault\.azure\.net' does not match the requested domain/,
      );
    });
  });

  describe("with tokens from the vault's identity endpoint", () => {
    let vault: LocalVault;
    let agent: HttpAgent;

    before(async () => {
      vault = await startLocalVault({ strictAuth: true, delayMs: 20 });
      agent = new HttpAgent({ lookup: loopbackLookup });
    });
    after(async () => {
      agent.destroy();
      await vault.close();
    });

    it("gets a token for the challenged resource, which the vault accepts", async () => {
      const url = namedUrl(vault, "payments.localhost");
      const credential = new ScopeLog(identityEndpointCredential(vault));
      const client = new OfficialSecretClient(url, credential, {
        // Plain HTTP here only because the identity library trusts no CA of ours in-process.
        allowInsecureConnection: true,
        additionalPolicies: [{ policy: agentPolicy(agent), position: "perCall" }],
      });
      const name = uniqueName("msi");
      await client.setSecret(name, "from managed identity");
      assert.equal((await client.getSecret(name)).value, "from managed identity");
      assert.deepEqual(
        [...new Set(credential.scopes)],
        [`http://localhost:${new URL(url).port}/.default`],
      );
    });
  });
});
