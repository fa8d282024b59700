/**
 * Secret hygiene end to end: every operation (with its failures, pollers, lists, backup and
 * restore) against the local vault with verbose logging captured, and a sample run in a child
 * process with AZURE_LOG_LEVEL=verbose. No value, token, Authorization header or request body
 * may appear in a log line, an error message, or an error's JSON or util.inspect form.
 */
import assert from "node:assert/strict";
import { format } from "node:util";
// The same module instance as the code under test: both are ESM through tsx.
import { AzureLogger, getLogLevel, setLogLevel, type AzureLogLevel } from "@azure/logger";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import type { SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  collect,
  leaksIn,
  loopbackClient,
  newVersion,
  rejectionOf,
  runScript,
  uniqueName,
  visibleText,
} from "./reliabilityKit.js";

/** A credential that passes on the vault's tokens and remembers every one. */
function tokenRecorder(inner: TokenCredential): TokenCredential & { tokens: string[] } {
  const tokens: string[] = [];
  return {
    tokens,
    async getToken(scopes, options): Promise<AccessToken | null> {
      const token = await inner.getToken(scopes, options);
      if (token) tokens.push(token.token);
      return token;
    },
  };
}

describe("reliability: secret hygiene end to end", function () {
  this.timeout(30_000);
  let vault: LocalVault;
  let captured: string[] = [];
  const originalLog = AzureLogger.log;
  let originalLevel: AzureLogLevel | undefined;

  before(async () => {
    // The restore below follows a purge at once (the conflict window has its own tests).
    vault = await startLocalVault({
      delayMs: 20,
      strictAuth: true,
      claimsChallenge: true,
      restoreConflictAfterPurgeInMs: 0,
    });
    originalLevel = getLogLevel();
    setLogLevel("verbose");
    AzureLogger.log = (...args: unknown[]) => {
      captured.push(format(...args));
    };
  });
  after(async () => {
    AzureLogger.log = originalLog;
    setLogLevel(originalLevel);
    await vault.close();
  });

  it("no secret in the logs or errors of every operation, failures and pollers included", async () => {
    captured = [];
    const value = `hygiene-value-${newVersion()}`;
    const longValue = `${value}-${"x".repeat(26_000)}`;
    const credential = tokenRecorder(vault.credential);
    const client: SecretClient = loopbackClient(vault.vaultUrl, credential, {
      retryOptions: { retryDelayInMs: 1, maxRetryDelayInMs: 4, maxRetries: 2 },
    });
    const name = uniqueName("hygiene");
    const errors: Error[] = [];
    const fail = async (promise: Promise<unknown>) => errors.push(await rejectionOf(promise));

    const set = await client.setSecret(name, value, {
      contentType: "text/plain",
      tags: { a: "b" },
    });
    const version = set.properties.version!;
    assert.equal((await client.getSecret(name)).value, value);
    assert.equal((await client.getSecret(name, { version })).value, value);
    await client.updateSecretProperties(name, version, { tags: { a: "c" } });
    await collect(client.listPropertiesOfSecrets());
    await collect(client.listPropertiesOfSecretVersions(name).byPage({ maxPageSize: 1 }));
    const backup = (await client.backupSecret(name))!;
    const backupText = Buffer.from(backup).toString("base64url");

    await fail(client.getSecret(uniqueName("missing")));
    await fail(client.setSecret(name, longValue));
    await fail(client.restoreSecretBackup(new Uint8Array(Buffer.from(`${value}-not-a-backup`))));
    await fail(client.purgeDeletedSecret(name));
    await fail(client.beginRecoverDeletedSecret(uniqueName("never"), { intervalInMs: 5 }));
    await client.updateSecretProperties(name, version, { enabled: false });
    await fail(client.getSecret(name, { version }));
    await client.updateSecretProperties(name, version, { enabled: true });

    const deletePoller = await client.beginDeleteSecret(name, { intervalInMs: 5 });
    await deletePoller.pollUntilDone();
    const serializedPollers = [deletePoller.toString()];
    await client.getDeletedSecret(name);
    await collect(client.listDeletedSecrets());
    await fail(client.setSecret(name, value));
    const recoverPoller = await client.beginRecoverDeletedSecret(name, { intervalInMs: 5 });
    await recoverPoller.pollUntilDone();
    serializedPollers.push(recoverPoller.toString());

    await (await client.beginDeleteSecret(name, { intervalInMs: 5 })).pollUntilDone();
    await client.purgeDeletedSecret(name);
    await fail(client.getDeletedSecret(name));
    await client.restoreSecretBackup(backup);
    await fail(client.restoreSecretBackup(backup));

    vault.setFaults({ errorRate: 1 });
    try {
      await fail(client.setSecret(name, value));
      // A transport error carries the request, body and all, on a hidden property.
      vault.setFaults({ dropRate: 1 });
      await fail(client.setSecret(name, value));
    } finally {
      vault.setFaults({});
    }
    client.close();

    const secrets = [value, backupText, ...credential.tokens];
    assert.ok(credential.tokens.length >= 2, "the claims challenge made a second token");
    assert.equal(errors.length, 11);
    for (const error of errors) {
      assert.deepEqual(leaksIn(visibleText(error), secrets), [], `${error.name}: ${error.message}`);
    }
    for (const serialized of serializedPollers) {
      assert.deepEqual(leaksIn(serialized, secrets), [], serialized);
    }
    const log = captured.join("\n");
    assert.ok(captured.length > 50, `verbose logging captured ${captured.length} lines`);
    assert.match(
      log,
      /"authorization": "REDACTED"/i,
      "the Authorization header is logged redacted",
    );
    assert.match(log, /Retry 2/, "the retries were logged");
    assert.deepEqual(leaksIn(log, secrets), [], "the log");
    assert.ok(!/"value"\s*:/.test(log), "no request or response body is logged");
  });

  it("AZURE_LOG_LEVEL=verbose in a child process: the helloWorld sample's output holds no secret", async () => {
    const run = await runScript("samples/helloWorld.ts", [], { AZURE_LOG_LEVEL: "verbose" });
    assert.equal(run.code, 0, run.stderr);
    const output = `${run.stdout}\n${run.stderr}`;
    assert.match(run.stderr, /azure:keyvault-secrets:info/, "the logger wrote to stderr");
    assert.match(run.stdout, /\*{8} \(20 characters\)/, "the sample prints the value masked");
    assert.deepEqual(leaksIn(output, ["my-database-password"]), []);
    assert.match(run.stderr, /"authorization": "REDACTED"/i);
    assert.ok(!/"value"\s*:/.test(output), "no body in the output");
  });
});
