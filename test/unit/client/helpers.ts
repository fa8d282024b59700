import nock from "nock";
import { SecretClient, type SecretClientOptions } from "../../../src/index.js";
import { fixedTokenCredential } from "../../helpers/fakeCredential.js";

export const vaultUrl = "https://myvault.vault.azure.net";
export const tenantId = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const challengeHeader = `Bearer authorization="https://login.windows.net/${tenantId}", resource="https://vault.azure.net"`;
export const token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.fake-unit-test-token";
export const apiVersion = "2026-04-01";

/** A client whose retries wait milliseconds, not seconds. */
export function createClient(options: SecretClientOptions = {}): SecretClient {
  return new SecretClient(vaultUrl, fixedTokenCredential(token), {
    retryOptions: { retryDelayInMs: 1, maxRetryDelayInMs: 4 },
    ...options,
  });
}

/** A nock scope for the vault that only matches requests carrying the token. */
export function vault(): nock.Scope {
  return nock(vaultUrl).matchHeader("authorization", `Bearer ${token}`);
}

/**
 * The challenge cache is process-wide, by design: once a client of this vault has been
 * challenged, later clients send the token on their first request. Tests of the client's
 * operations start from that state.
 */
export async function primeChallenge(): Promise<void> {
  nock(vaultUrl)
    .get("/secrets/prime/")
    .query(true)
    .reply(
      401,
      {
        error: {
          code: "Unauthorized",
          message: "AKV10000: Request is missing a Bearer or PoP token.",
        },
      },
      {
        "WWW-Authenticate": challengeHeader,
      },
    );
  vault()
    .get("/secrets/prime/")
    .query(true)
    .reply(200, {
      value: "v",
      id: `${vaultUrl}/secrets/prime/00000000000000000000000000000000`,
    });
  await createClient().getSecret("prime");
}
