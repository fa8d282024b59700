import assert from "node:assert/strict";
import { inspect, format } from "node:util";
import { AzureLogger, getLogLevel, setLogLevel, type AzureLogLevel } from "@azure/logger";
import nock from "nock";
import { primeChallenge, vault, vaultUrl, createClient, token } from "./helpers.js";

const secretValue = "hunter2-super-secret-value-5f2c";
const version = "0123456789abcdef0123456789abcdef";

describe("secret hygiene", () => {
  let captured: string[] = [];
  const originalLog = AzureLogger.log;
  let originalLevel: AzureLogLevel | undefined;

  before(async () => {
    nock.disableNetConnect();
    await primeChallenge();
    originalLevel = getLogLevel();
    setLogLevel("verbose");
    AzureLogger.log = (...args: unknown[]) => {
      captured.push(format(...args));
    };
  });
  after(() => {
    AzureLogger.log = originalLog;
    setLogLevel(originalLevel);
    nock.cleanAll();
    nock.enableNetConnect();
  });
  beforeEach(() => {
    captured = [];
  });

  function assertClean(text: string, where: string): void {
    assert.ok(!text.includes(secretValue), `${where} contains the secret value`);
    assert.ok(!text.includes(token), `${where} contains the token`);
    assert.ok(!/Bearer\s+ey/i.test(text), `${where} contains a bearer token`);
  }

  it("logs every operation verbosely without a value, token or body", async () => {
    const bundle = { value: secretValue, id: `${vaultUrl}/secrets/s/${version}`, attributes: {} };
    const deleted = { id: bundle.id, recoveryId: `${vaultUrl}/deletedsecrets/s`, deletedDate: 1 };
    vault().put("/secrets/s").query(true).reply(200, bundle);
    vault().get("/secrets/s/").query(true).reply(200, bundle);
    vault().patch(`/secrets/s/${version}`).query(true).reply(200, { id: bundle.id });
    vault().post("/secrets/s/backup").query(true).reply(200, { value: "AAEC" });
    vault().delete("/secrets/s").query(true).reply(200, deleted);
    vault().get("/deletedsecrets/s").query(true).reply(200, deleted);
    vault().post("/deletedsecrets/s/recover").query(true).reply(200, { id: bundle.id });
    vault().get("/secrets/s/").query(true).reply(200, bundle);
    vault()
      .get("/secrets")
      .query(true)
      .reply(200, { value: [{ id: `${vaultUrl}/secrets/s` }] });
    vault().delete("/deletedsecrets/s").query(true).reply(204);
    vault().post("/secrets/restore").query(true).reply(200, bundle);

    const client = createClient();
    await client.setSecret("s", secretValue);
    await client.getSecret("s");
    await client.updateSecretProperties("s", version, { enabled: true });
    const backup = await client.backupSecret("s");
    await (await client.beginDeleteSecret("s", { intervalInMs: 1 })).pollUntilDone();
    await (await client.beginRecoverDeletedSecret("s", { intervalInMs: 1 })).pollUntilDone();
    for await (const _ of client.listPropertiesOfSecrets()) {
      // drain
    }
    await client.purgeDeletedSecret("s");
    await client.restoreSecretBackup(backup!);

    const all = captured.join("\n");
    assert.ok(captured.length > 10, "verbose logging captured the requests");
    assert.match(
      all,
      /"authorization": "REDACTED"/i,
      "the Authorization header is logged redacted",
    );
    assertClean(all, "the log");
    assert.ok(!all.includes(`"value":`), "no request or response body is logged");
  });

  it("keeps the value and token out of errors: message, JSON and inspect", async () => {
    vault()
      .put("/secrets/s")
      .query(true)
      .reply(400, {
        error: { code: "BadParameter", message: "Secret is beyond the maximum permitted length" },
      });
    const error = await createClient()
      .setSecret("s", secretValue)
      .then(
        () => assert.fail("expected a failure"),
        (e: unknown) => e as Error,
      );
    assertClean(error.message, "the message");
    assertClean(JSON.stringify(error), "JSON.stringify(error)");
    assertClean(inspect(error, { depth: 10 }), "util.inspect(error)");
    assertClean(captured.join("\n"), "the log");
  });
});
