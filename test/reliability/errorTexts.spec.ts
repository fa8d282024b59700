import assert from "node:assert/strict";
import { SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { closedPort } from "../helpers/testKit.js";
import { loopbackClient, rejectionOf, runScript } from "./reliabilityKit.js";

describe("error texts that help", () => {
  let vault: LocalVault;
  before(async () => {
    vault = await startLocalVault({ delayMs: 20 });
  });
  after(async () => {
    await vault.close();
  });

  it("a refused loopback connection says nothing listens at that URL and how long it retried; info logs each retry", async () => {
    const port = await closedPort();
    const run = await runScript("test/reliability/fixtures/refusedConnection.ts", [], {
      REFUSED_PORT: String(port),
      AZURE_LOG_LEVEL: "info",
    });
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout.trim().split("\n").pop()!) as {
      name: string;
      message: string;
      code: string;
    };
    assert.equal(result.code, "ECONNREFUSED");
    assert.match(
      result.message,
      new RegExp(
        `^Nothing is listening at http://127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; tried 4 times over \\d+ ms\\)\\. ` +
          "Is the local vault running, and on that port\\? Check the vault URL\\.$",
      ),
    );
    // Three retries, each on its own info line naming the URL, the wait and the cause.
    const retries = run.stderr
      .split("\n")
      .filter((line) => /keyvault-secrets:info Retry \d of GET /.test(line));
    assert.equal(retries.length, 3, run.stderr);
    for (const [index, line] of retries.entries()) {
      assert.match(
        line,
        new RegExp(
          `Retry ${index + 1} of GET http://127\\.0\\.0\\.1:${port}/secrets/nobody-home/ in \\d+ ms after ECONNREFUSED: connect ECONNREFUSED`,
        ),
      );
    }
  });

  it("a refused connection with maxRetries 0 says it was not retried", async () => {
    const port = await closedPort();
    const client = loopbackClient(`http://127.0.0.1:${port}`, vault.credential, {
      retryOptions: { maxRetries: 0 },
    });
    const error = await rejectionOf(client.getSecret("nobody-home"));
    client.close();
    assert.equal((error as { code?: string }).code, "ECONNREFUSED");
    assert.match(
      error.message,
      new RegExp(
        `^Nothing is listening at http://127\\.0\\.0\\.1:${port} \\(.*; tried once, not retried\\)`,
      ),
    );
  });

  it("a challenge resource that does not match the vault host is an Error with code ChallengeResourceMismatch naming the option", async () => {
    // The local vault's challenge names https://vault.azure.net; 127.0.0.1 is not under it.
    const client = new SecretClient(vault.vaultUrl, vault.credential, {
      allowInsecureConnection: true,
    });
    const error = await rejectionOf(client.getSecret("any-name"));
    client.close();
    assert.equal((error as { code?: string }).code, "ChallengeResourceMismatch");
    assert.match(
      error.message,
      /^The challenge resource \(scope\) "https:\/\/vault\.azure\.net\/\.default" and the vault host "127\.0\.0\.1" do not match: .*set disableChallengeResourceVerification: true in SecretClientOptions/,
    );
  });

  it("an aborted call's AbortError keeps the signal's reason as cause", async () => {
    vault.setFaults({ latencyMs: 5_000 });
    try {
      const client = loopbackClient(vault.vaultUrl, vault.credential);
      const controller = new AbortController();
      const reason = new Error("the caller gave up");
      const pending = client.getSecret("slow-secret", { abortSignal: controller.signal });
      setTimeout(() => controller.abort(reason), 20);
      const error = await rejectionOf(pending);
      assert.equal(error.name, "AbortError");
      assert.equal(error.cause, reason);

      // An already-aborted signal: the default reason (a DOMException named AbortError) is kept.
      const already = await rejectionOf(
        client.getSecret("slow-secret", { abortSignal: AbortSignal.abort() }),
      );
      assert.equal(already.name, "AbortError");
      assert.equal((already.cause as Error | undefined)?.name, "AbortError");
      assert.ok(already.cause instanceof DOMException);
      client.close();
    } finally {
      vault.setFaults({});
    }
  });

  it("an aborted wait between retries keeps the signal's reason as cause", async () => {
    // Every request throttled without Retry-After: the client waits its (here: one minute) backoff.
    vault.setFaults({ throttleLimit: 0, throttleRetryAfter: false });
    try {
      const client = loopbackClient(vault.vaultUrl, vault.credential, {
        retryOptions: { retryDelayInMs: 60_000, maxRetryDelayInMs: 60_000 },
      });
      const reason = new Error("shutting down");
      const controller = new AbortController();
      const aborted = client.getSecret("throttled-secret", { abortSignal: controller.signal });
      setTimeout(() => controller.abort(reason), 50);
      const error = await rejectionOf(aborted);
      assert.equal(error.name, "AbortError");
      assert.equal(error.cause, reason);
      client.close();
    } finally {
      vault.setFaults({});
    }
  });

  it("an aborted poller keeps the signal's reason as cause", async () => {
    // A delete that takes a minute: the poller is surely waiting between polls when the abort comes.
    const slowVault = await startLocalVault({ delayMs: 60_000 });
    try {
      const client = loopbackClient(slowVault.vaultUrl, slowVault.credential);
      await client.setSecret("poller-abort", "v");
      const poller = await client.beginDeleteSecret("poller-abort", { intervalInMs: 60_000 });
      const reason = new Error("deadline");
      const controller = new AbortController();
      setTimeout(() => controller.abort(reason), 20);
      const error = await rejectionOf(poller.pollUntilDone({ abortSignal: controller.signal }));
      assert.equal(error.name, "AbortError");
      assert.equal(error.cause, reason);
      client.close();
    } finally {
      await slowVault.close();
    }
  });
});
