/**
 * resolveReferences and a vault on this machine: the options it needs are named in one message,
 * before any request or token.
 */
import assert from "node:assert/strict";
import nock from "nock";
import { KeyVaultReferenceError, resolveReferences } from "../../../src/inject/references.js";
import { fixedTokenCredential } from "../../helpers/fakeCredential.js";

async function failures(
  promise: Promise<unknown>,
): Promise<Array<{ variableName: string; reason: string }>> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof KeyVaultReferenceError, `got ${String(error)}`);
    return error.failures;
  }
  assert.fail("expected a KeyVaultReferenceError");
}

describe("resolveReferences: a vault on this machine", () => {
  before(() => nock.disableNetConnect());
  afterEach(() => nock.cleanAll());
  after(() => nock.enableNetConnect());

  const env = {
    DB_PASSWORD: "@Microsoft.KeyVault(SecretUri=http://127.0.0.1:8443/secrets/db-password/)",
    API_KEY: "@Microsoft.KeyVault(VaultName=myvault;SecretName=api-key)",
  };

  it("fails each of its references before any request, naming every option and where it goes", async () => {
    const credential = fixedTokenCredential();
    const failed = await failures(
      resolveReferences(env, { credential, vaultUrls: { myvault: "http://127.0.0.1:8443" } }),
    );
    assert.deepEqual(
      failed.map((f) => f.variableName),
      ["API_KEY", "DB_PASSWORD"],
    );
    for (const { reason } of failed) {
      assert.equal(
        reason,
        "the vault http://127.0.0.1:8443 cannot be used: it is on this machine (a local vault), so resolveReferences' options need clientOptions: { allowInsecureConnection: true, disableChallengeResourceVerification: true }, and a credential whose token comes from that vault: new ManagedIdentityCredential() from @azure/identity with IDENTITY_ENDPOINT=http://127.0.0.1:8443/__local/identity/token and IDENTITY_HEADER set as keyvault-emulator prints them (in tests, the local vault's credential). keyvault-secrets run and the preload keyvault-secrets/env do this themselves.",
      );
      assert.ok(!reason.includes(credential.token));
    }
    assert.equal(credential.calls.length, 0, "no token was asked for");
  });

  it("asks for all of it when only one option is given, and over https for the resource check only", async () => {
    const onlyInsecure = await failures(
      resolveReferences(
        { DB_PASSWORD: env.DB_PASSWORD },
        { credential: fixedTokenCredential(), clientOptions: { allowInsecureConnection: true } },
      ),
    );
    assert.match(
      onlyInsecure[0]!.reason,
      /clientOptions: \{ allowInsecureConnection: true, disableChallengeResourceVerification: true \}/,
    );
    const https = await failures(
      resolveReferences(
        {
          DB_PASSWORD: "@Microsoft.KeyVault(SecretUri=https://localhost:9443/secrets/db-password)",
        },
        { credential: fixedTokenCredential() },
      ),
    );
    assert.match(
      https[0]!.reason,
      /clientOptions: \{ disableChallengeResourceVerification: true \} \(and its CA in tlsOptions\.ca .*IDENTITY_ENDPOINT=https:\/\/localhost:9443\/__local\/identity\/token/,
    );
  });

  it("reads the local vault with the options given", async () => {
    nock("http://127.0.0.1:8443")
      .get("/secrets/db-password/")
      .query(true)
      .reply(200, {
        value: "local-value",
        id: `http://127.0.0.1:8443/secrets/db-password/${"0".repeat(32)}`,
        attributes: { enabled: true },
      });
    const resolved = await resolveReferences(
      { DB_PASSWORD: env.DB_PASSWORD },
      {
        credential: fixedTokenCredential(),
        clientOptions: {
          allowInsecureConnection: true,
          disableChallengeResourceVerification: true,
        },
      },
    );
    assert.deepEqual(resolved, { DB_PASSWORD: "local-value" });
  });
});
