import assert from "node:assert/strict";
import type { TokenCredential } from "@azure/core-auth";
import { challengeAuthenticationPolicy } from "../../../src/policies/challengeAuthenticationPolicy.js";
import { clearChallengeCache } from "../../../src/policies/challengeCache.js";
import { withLocalVaultCredentialHint } from "../../../src/policies/localVaultCredentialHint.js";
import { fakeNext, makeRequest } from "../../helpers/policyFakes.js";

/** Stand-ins for @azure/identity's errors: the hint matches them by name, as it must. */
class CredentialUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialUnavailableError";
  }
}
class AggregateAuthenticationError extends Error {
  readonly errors: unknown[] = [];
  constructor(message: string) {
    super(message);
    this.name = "AggregateAuthenticationError";
  }
}

const localVault = new URL("http://127.0.0.1:8443");
const identityPath = "http://127.0.0.1:8443/__local/identity/token";
const unavailable = "ManagedIdentityCredential: Network unreachable.";

function assertHint(message: string): void {
  assert.ok(message.includes("on this machine"), message);
  assert.ok(message.includes(`IDENTITY_ENDPOINT=${identityPath}`), message);
  assert.ok(message.includes("IDENTITY_HEADER"), message);
  assert.ok(message.includes("keyvault-emulator"), message);
  assert.ok(message.includes("fixed token"), message);
}

describe("withLocalVaultCredentialHint", () => {
  it("adds the hint to the same error object: class, name and fields kept, stack's first line too", () => {
    const error = new CredentialUnavailableError(unavailable);
    const result = withLocalVaultCredentialHint(error, localVault, {});
    assert.equal(result, error);
    assert.ok(result instanceof CredentialUnavailableError);
    assert.equal(error.name, "CredentialUnavailableError");
    assert.ok(error.message.startsWith(`${unavailable}\n`), "the credential's own words first");
    assertHint(error.message);
    assert.ok(error.stack!.startsWith(`CredentialUnavailableError: ${error.message}\n`));
  });

  it("covers DefaultAzureCredential's AggregateAuthenticationError and AuthenticationError", () => {
    const aggregate = new AggregateAuthenticationError(
      "ChainedTokenCredential authentication failed.",
    );
    assertHint((withLocalVaultCredentialHint(aggregate, localVault, {}) as Error).message);
    assert.deepEqual(aggregate.errors, []);
    const failed = Object.assign(new Error("invalid_request Status code: 400"), {
      name: "AuthenticationError",
      statusCode: 400,
    });
    assertHint((withLocalVaultCredentialHint(failed, localVault, {}) as Error).message);
    assert.equal(failed.statusCode, 400);
  });

  it("names the variables, never the value of one that is set", () => {
    const error = new CredentialUnavailableError(unavailable);
    withLocalVaultCredentialHint(error, new URL("https://localhost:9443"), {
      IDENTITY_HEADER: "header-s3cret-value",
    });
    assert.ok(
      error.message.includes("IDENTITY_ENDPOINT=https://localhost:9443/__local/identity/token"),
    );
    assert.ok(!error.message.includes("header-s3cret-value"));
  });

  it("replaces a frozen error by one with the same name, the hint, and it as cause", () => {
    const error = Object.freeze(new CredentialUnavailableError(unavailable));
    const result = withLocalVaultCredentialHint(error, localVault, {}) as Error;
    assert.notEqual(result, error);
    assert.equal(result.name, "CredentialUnavailableError");
    assert.equal(result.cause, error);
    assertHint(result.message);
  });

  it("leaves the error alone for a vault elsewhere, with both variables set, for other errors, and once added", () => {
    const cases: Array<[unknown, URL, Record<string, string>]> = [
      [new CredentialUnavailableError(unavailable), new URL("https://myvault.vault.azure.net"), {}],
      [
        new CredentialUnavailableError(unavailable),
        localVault,
        { IDENTITY_ENDPOINT: identityPath, IDENTITY_HEADER: "h" },
      ],
      [new TypeError("not a credential error"), localVault, {}],
      [Object.assign(new Error("x"), { name: "RestError" }), localVault, {}],
      ["a string", localVault, {}],
    ];
    for (const [error, vault, env] of cases) {
      const before = error instanceof Error ? error.message : error;
      assert.equal(withLocalVaultCredentialHint(error, vault, env), error);
      assert.equal(error instanceof Error ? error.message : error, before);
    }
    const error = new CredentialUnavailableError(unavailable);
    withLocalVaultCredentialHint(error, localVault, {});
    const once = error.message;
    withLocalVaultCredentialHint(error, localVault, {});
    assert.equal(error.message, once);
  });
});

describe("challengeAuthenticationPolicy: a credential that fails for a loopback vault", () => {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    clearChallengeCache();
    for (const name of ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"]) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  const challenge = {
    status: 401,
    headers: {
      "WWW-Authenticate":
        'Bearer authorization="https://login.windows.net/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"',
    },
  };

  function failingCredential(error: Error): TokenCredential {
    return {
      getToken: async () => {
        throw error;
      },
    };
  }

  it("rejects with the credential's own error, its message saying how to reach the local vault", async () => {
    const error = new CredentialUnavailableError(unavailable);
    const policy = challengeAuthenticationPolicy({
      credential: failingCredential(error),
      vaultUrl: "http://127.0.0.1:8443",
      disableChallengeResourceVerification: true,
    });
    const rejection = await policy
      .sendRequest(
        makeRequest("http://127.0.0.1:8443/secrets/db?api-version=7.6"),
        fakeNext([challenge]),
      )
      .then(
        () => assert.fail("expected a rejection"),
        (reason: unknown) => reason,
      );
    assert.equal(rejection, error);
    assert.ok(rejection instanceof CredentialUnavailableError);
    assertHint(error.message);
  });

  it("adds nothing for a vault in Azure", async () => {
    const error = new CredentialUnavailableError(unavailable);
    const policy = challengeAuthenticationPolicy({
      credential: failingCredential(error),
      vaultUrl: "https://myvault.vault.azure.net",
    });
    await assert.rejects(
      policy.sendRequest(
        makeRequest("https://myvault.vault.azure.net/secrets/db?api-version=7.6"),
        fakeNext([challenge]),
      ),
      (reason: unknown) => reason === error && error.message === unavailable,
    );
  });
});
