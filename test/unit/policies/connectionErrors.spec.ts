import assert from "node:assert/strict";
import { RestError, type PipelineRequest } from "@azure/core-rest-pipeline";
import {
  explainConnectionFailure,
  referenceVaultsVariableName,
} from "../../../src/policies/connectionErrors.js";
import { keyVaultRetryPolicy } from "../../../src/pipeline/keyVaultRetryPolicy.js";
import { referenceVaultsVariable } from "../../../src/inject/referenceSyntax.js";
import { fakeNext, makeRequest } from "../../helpers/policyFakes.js";

/**
 * The error one request through the retry policy (which explains its last error) ends with, when
 * `next` fails with `error`; no retries.
 */
async function explained(url: string, error: unknown): Promise<unknown> {
  const request: PipelineRequest = makeRequest(url);
  try {
    await keyVaultRetryPolicy({ maxRetries: 0 }).sendRequest(request, fakeNext([{ error }]));
  } catch (caught) {
    return caught;
  }
  assert.fail("expected the request to fail");
}

function networkError(message: string, code: string): RestError {
  return new RestError(message, { code });
}

describe("explainConnectionFailure", () => {
  it("names the variable that maps a reference's vault, as keyvault-secrets run reads it", () => {
    assert.equal(referenceVaultsVariableName, referenceVaultsVariable);
  });

  it("ENOTFOUND of a Key Vault host: the host, and how to map a reference's vault", async () => {
    const original = networkError("getaddrinfo ENOTFOUND myvault.vault.azure.net", "ENOTFOUND");
    const error = await explained("https://myvault.vault.azure.net/secrets/a", original);
    assert.equal(error, original, "the same error object: code, statusCode and cause kept");
    const restError = error as RestError;
    assert.equal(restError.code, "ENOTFOUND");
    assert.equal(restError.statusCode, undefined);
    assert.match(
      restError.message,
      /^The host myvault\.vault\.azure\.net was not found \(getaddrinfo ENOTFOUND myvault\.vault\.azure\.net; gave up after \d+ ms\)\./,
    );
    assert.match(restError.message, /a vault's name resolves only while the vault exists/);
    assert.match(restError.message, /KEYVAULT_REFERENCE_VAULTS=myvault=http:\/\/127\.0\.0\.1:8443/);
  });

  it("EAI_AGAIN: says DNS did not answer", async () => {
    const error = (await explained(
      "https://other.example/secrets/a",
      networkError("getaddrinfo EAI_AGAIN other.example", "EAI_AGAIN"),
    )) as RestError;
    assert.match(
      error.message,
      /^The host other\.example could not be resolved: DNS did not answer/,
    );
    assert.match(error.message, /Check the host name in the vault URL/);
    assert.doesNotMatch(error.message, /KEYVAULT_REFERENCE_VAULTS/);
  });

  it("plain HTTP from a remote host: check the URL, no local vault advice", async () => {
    const error = (await explained(
      "https://myvault.vault.azure.net:8080/secrets/a",
      networkError(
        "write EPROTO 80FC:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/ssl3_record.c:350:\n",
        "EPROTO",
      ),
    )) as RestError;
    assert.match(
      error.message,
      /answered in plain HTTP, not HTTPS \(EPROTO: wrong version number\)/,
    );
    assert.match(error.message, /does not speak TLS there/);
    assert.doesNotMatch(error.message, /--https/);
  });

  it("an untrusted certificate of a remote host: a TLS-inspecting proxy's CA", async () => {
    const error = (await explained(
      "https://myvault.vault.azure.net/secrets/a",
      networkError("self-signed certificate in certificate chain", "SELF_SIGNED_CERT_IN_CHAIN"),
    )) as RestError;
    assert.match(error.message, /is not trusted by this process/);
    assert.match(error.message, /proxy or firewall/);
    assert.match(error.message, /NODE_EXTRA_CA_CERTS/);
  });

  it("a certificate for another host: names the host and --hostname", async () => {
    const error = (await explained(
      "https://vault.test:8443/secrets/a",
      networkError(
        "Hostname/IP does not match certificate's altnames",
        "ERR_TLS_CERT_ALTNAME_INVALID",
      ),
    )) as RestError;
    assert.match(error.message, /does not name vault\.test/);
    assert.match(error.message, /--hostname NAME/);
  });

  it("leaves service answers, other codes and other errors as they are", async () => {
    const answered = new RestError("Not found", { code: "SecretNotFound", statusCode: 404 });
    assert.equal(
      ((await explained("https://v.vault.azure.net/s", answered)) as Error).message,
      "Not found",
    );
    const reset = networkError("socket hang up", "ECONNRESET");
    assert.equal(
      ((await explained("https://v.vault.azure.net/s", reset)) as Error).message,
      "socket hang up",
    );
    const plain = new TypeError("not a network error");
    assert.equal(await explained("https://v.vault.azure.net/s", plain), plain);
  });

  it("explains an error once, when it travels through two pipelines", async () => {
    const original = networkError("getaddrinfo ENOTFOUND a.invalid", "ENOTFOUND");
    await explained("https://a.invalid/secrets/a", original);
    const once = original.message;
    await explained("https://a.invalid/secrets/a", original);
    assert.equal(original.message, once);
    assert.deepEqual(Object.keys(original), Object.keys(networkError("", "ENOTFOUND")));
  });

  it("a refused connection: how often and how long it was tried", async () => {
    const refused = networkError("connect ECONNREFUSED 127.0.0.1:9", "ECONNREFUSED");
    await explainConnectionFailure(refused, makeRequest("http://127.0.0.1:9/secrets/a"), {
      attempts: 1,
      elapsedInMs: 3,
    });
    assert.equal(
      refused.message,
      "Nothing is listening at http://127.0.0.1:9 (connect ECONNREFUSED 127.0.0.1:9; tried once, not retried). " +
        "Is the local vault running, and on that port? Check the vault URL.",
    );
  });
});
