import assert from "node:assert/strict";
import { SecretClient, type RestError } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertRestError, fastRetryOptions, loopbackClientOptions } from "./integrationTestKit.js";

/** A secret value and a token that must never reach a message. */
const secretValue = "connection-errors-secret-value";

/**
 * The client's error for one setSecret against `url`.
 * @param url - the vault URL to address
 * @param vault - the vault whose credential signs
 * @param code - the error code the failure keeps
 * @returns the error
 */
async function failedSet(
  url: string,
  vault: LocalVault,
  code: string | RegExp,
  options: { tlsOptions?: { ca?: string } } = {},
): Promise<RestError> {
  const client = new SecretClient(url, vault.credential, {
    ...loopbackClientOptions,
    retryOptions: { ...fastRetryOptions, maxRetries: 1 },
    ...options,
  });
  try {
    const error = await assertRestError(client.setSecret("conn-errors", secretValue), {
      statusCode: undefined,
    });
    if (typeof code === "string") assert.equal(error.code, code);
    else assert.match(error.code ?? "", code);
    assert.ok(!error.message.includes(secretValue), "no value in the message");
    assert.ok(!/Bearer|eyJ/.test(error.message), "no token in the message");
    return error;
  } finally {
    client.close();
  }
}

describe("integration: connection failures say what happened and what to do", () => {
  let plain: LocalVault;
  let tls: LocalVault;

  before(async () => {
    plain = await startLocalVault();
    tls = await startLocalVault({ https: true });
  });
  after(async () => {
    await plain.close();
    await tls.close();
  });

  it("an https URL to a vault that speaks plain HTTP: names plain HTTP, the http URL and --https", async () => {
    const httpsUrl = plain.vaultUrl.replace("http:", "https:");
    const error = await failedSet(httpsUrl, plain, /^(EPROTO|ERR_SSL_WRONG_VERSION_NUMBER)$/);
    assert.match(error.message, /answered in plain HTTP, not HTTPS/);
    assert.ok(error.message.includes(`Use ${plain.vaultUrl} as the vault URL`), error.message);
    assert.match(error.message, /start the local vault with --https \(https: true/);
    assert.doesNotMatch(error.message, /ssl3_record\.c/, "OpenSSL's reason, not its source line");
  });

  it("an http URL to a vault that speaks HTTPS: names TLS and the https URL", async () => {
    const httpUrl = tls.vaultUrl.replace("https:", "http:");
    const error = await failedSet(httpUrl, tls, /^(ECONNRESET|HPE_\w+)$/);
    assert.match(error.message, /speaks HTTPS \(TLS\), not plain HTTP/);
    assert.ok(error.message.includes(`Use ${tls.vaultUrl} as the vault URL`), error.message);
  });

  it("a certificate this process does not trust: says so and how to trust the CA", async () => {
    const error = await failedSet(tls.vaultUrl, tls, /CERT|SIGNATURE/);
    assert.match(error.message, new RegExp(`The certificate of ${tls.vaultUrl} is not trusted`));
    assert.match(error.message, /tlsOptions: \{ ca \}/);
    assert.match(error.message, /NODE_EXTRA_CA_CERTS=/);
    assert.match(error.message, /export takes it as --ca/);
    assert.ok(!error.message.includes("BEGIN CERTIFICATE"));
  });

  it("the same vault with its CA trusted answers", async () => {
    const client = new SecretClient(tls.vaultUrl, tls.credential, {
      ...loopbackClientOptions,
      tlsOptions: { ca: tls.caCertificate },
    });
    assert.equal((await client.setSecret("conn-trusted", "v")).value, "v");
    client.close();
  });

  it("a host that does not resolve, after retrying: names the host and what to check", async () => {
    const error = await failedSet(
      "https://no-such-vault.invalid",
      plain,
      /^(ENOTFOUND|EAI_AGAIN)$/,
    );
    assert.match(
      error.message,
      /The host no-such-vault\.invalid (was not found|could not be resolved)/,
    );
    assert.match(error.message, /gave up after \d+/);
    assert.match(error.message, /Check the host name in the vault URL/);
  });
});
