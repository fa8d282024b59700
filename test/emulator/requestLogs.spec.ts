import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
// The same ES module build of @azure/logger that src/ and the official client import: a require()
// here would capture nothing (a second copy of the module).
import { AzureLogger, getLogLevel, setLogLevel } from "@azure/logger";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import type { SecretClient } from "../../src/index.js";
import { localClient, uniqueName } from "../integration/integrationTestKit.js";
import { officialClient } from "../interop/oracle.js";

const pemBlock = /-----BEGIN [A-Z ]+-----/;

interface Captured {
  lines: number;
  bytes: number;
  text: string;
}

describe("request logs at AZURE_LOG_LEVEL=info", () => {
  let vault: LocalVault;
  let name: string;
  const value = `log-probe-value-${uniqueName("v")}`;
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const tlsKey = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const previousLevel = getLogLevel();
  const previousLog = AzureLogger.log;

  before(async () => {
    vault = await startLocalVault();
    name = uniqueName("logged");
    const setup = localClient(vault);
    await setup.setSecret(name, value);
    setup.close();
  });
  after(async () => {
    AzureLogger.log = previousLog;
    setLogLevel(previousLevel);
    await vault.close();
  });

  /** Runs `work` with info logs captured through AzureLogger, as AZURE_LOG_LEVEL=info does. */
  async function capture(work: () => Promise<void>): Promise<Captured> {
    const messages: string[] = [];
    AzureLogger.log = (...args: unknown[]) => {
      messages.push(args.map((arg) => (typeof arg === "string" ? arg : String(arg))).join(" "));
    };
    setLogLevel("info");
    try {
      await work();
    } finally {
      setLogLevel(previousLevel);
      AzureLogger.log = previousLog;
    }
    const text = messages.join("\n");
    return { lines: text.split("\n").length, bytes: Buffer.byteLength(text), text };
  }

  async function twentyGets(client: Pick<SecretClient, "getSecret">): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const secret = await client.getSecret(name);
      assert.equal(secret.value, value);
    }
  }

  it("20 getSecret calls log no more lines or bytes than the official client, and nothing secret", async () => {
    // tlsOptions go on every request as tlsSettings: core's log policy would write the key.
    const tlsOptions = { key: tlsKey, cert: tlsKey };
    const ours = localClient(vault, { tlsOptions });
    const official = officialClient(vault);
    const oursLog = await capture(() => twentyGets(ours));
    const officialLog = await capture(() => twentyGets(official));
    ours.close();

    // Both logged every request: the comparison is not between two empty logs.
    for (const log of [oursLog, officialLog]) {
      assert.ok((log.text.match(/Request: \{/g) ?? []).length >= 20, log.text.slice(0, 500));
      assert.ok((log.text.match(/Response status code: 200/g) ?? []).length >= 20);
    }
    assert.ok(
      oursLog.lines <= officialLog.lines,
      `ours: ${oursLog.lines} lines, official: ${officialLog.lines}`,
    );
    assert.ok(
      oursLog.bytes <= officialLog.bytes,
      `ours: ${oursLog.bytes} bytes, official: ${officialLog.bytes}`,
    );

    const token = (await vault.credential.getToken("https://vault.azure.net/.default"))!.token;
    assert.ok(token.length > 20);
    assert.doesNotMatch(oursLog.text, pemBlock);
    assert.ok(!oursLog.text.includes(value), "a secret value was logged");
    assert.ok(!oursLog.text.includes(token), "a token was logged");
    assert.ok(!oursLog.text.includes("Bearer "), "an Authorization value was logged");
    // What core's log policy allows, and nothing else: no agent, sockets or TLS settings.
    for (const key of ['"agent"', '"tlsSettings"', '"freeSockets"', '"_events"', '"body"']) {
      assert.ok(!oursLog.text.includes(key), `${key} was logged`);
    }
    assert.match(oursLog.text, /"method": "GET"/);
    assert.match(oursLog.text, /"url": "http:\/\/127\.0\.0\.1:\d+\/secrets\/logged-[0-9a-f]+\//);
    assert.match(oursLog.text, /"authorization": "REDACTED"/);
    assert.match(oursLog.text, /Response status code: 200 \(\d+ ms\)/);
  });

  it("the PEM check recognises the key given in tlsOptions", () => {
    assert.match(`"tlsSettings": {"key": ${JSON.stringify(tlsKey)}}`, pemBlock);
  });

  it("the retry loop's bookkeeping (attempting, strategies, skipped) is not logged at info", async () => {
    const ours = localClient(vault);
    const log = await capture(async () => {
      await assert.rejects(ours.getSecret(uniqueName("absent")), { statusCode: 404 });
    });
    ours.close();
    assert.doesNotMatch(log.text, /Attempting to send request|Processing retry strategy|Skipped/);
    assert.match(log.text, /Response status code: 404/);
  });
});
