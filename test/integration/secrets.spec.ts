import assert from "node:assert/strict";
import { inspect } from "node:util";
import { createPipelineRequest } from "@azure/core-rest-pipeline";
import { type SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  assertRestError,
  collect,
  dayInMs,
  localClient,
  secretDisabledMessage,
  secretNotFoundMessage,
  uniqueName,
  wholeSecondDate,
} from "./integrationTestKit.js";

const versionPattern = /^[0-9a-f]{32}$/;

describe("integration: set, get and update over HTTP", () => {
  let vault: LocalVault;
  let client: SecretClient;

  before(async () => {
    vault = await startLocalVault({ delayMs: 30 });
    client = localClient(vault);
  });
  after(async () => {
    client.close();
    await vault.close();
  });

  describe("setSecret", () => {
    it("creates a new version on every set, the latest one read back by getSecret", async () => {
      const name = uniqueName("set");
      const first = await client.setSecret(name, "one");
      const second = await client.setSecret(name, "two");
      assert.match(first.properties.version ?? "", versionPattern);
      assert.match(second.properties.version ?? "", versionPattern);
      assert.notEqual(first.properties.version, second.properties.version);
      assert.equal(first.name, name);
      assert.equal(first.value, "one");
      assert.equal(second.value, "two");
      assert.equal(
        second.properties.id,
        `${vault.vaultUrl}/secrets/${name}/${second.properties.version}`,
      );
      assert.equal(second.properties.vaultUrl, vault.vaultUrl);
      assert.equal(second.properties.enabled, true);
      assert.equal(second.properties.recoveryLevel, "Recoverable+Purgeable");
      assert.equal(second.properties.recoverableDays, 90);
      assert.ok(second.properties.createdOn instanceof Date);
      assert.deepEqual(second.properties.updatedOn, second.properties.createdOn);

      const latest = await client.getSecret(name);
      assert.equal(latest.value, "two");
      assert.equal(latest.properties.version, second.properties.version);
      const older = await client.getSecret(name, { version: first.properties.version });
      assert.equal(older.value, "one");
      assert.equal(older.properties.id, first.properties.id);
    });

    it("round-trips tags, contentType, enabled, notBefore and expiresOn (as Dates)", async () => {
      const name = uniqueName("props");
      const notBefore = wholeSecondDate(-dayInMs);
      const expiresOn = wholeSecondDate(30 * dayInMs);
      const set = await client.setSecret(name, "p@ss", {
        tags: { env: "test", owner: "integration" },
        contentType: "text/plain",
        enabled: true,
        notBefore,
        expiresOn,
      });
      const read = await client.getSecret(name);
      for (const secret of [set, read]) {
        assert.deepEqual(secret.properties.tags, { env: "test", owner: "integration" });
        assert.equal(secret.properties.contentType, "text/plain");
        assert.equal(secret.properties.enabled, true);
        assert.ok(secret.properties.notBefore instanceof Date);
        assert.equal(secret.properties.notBefore.getTime(), notBefore.getTime());
        assert.ok(secret.properties.expiresOn instanceof Date);
        assert.equal(secret.properties.expiresOn.getTime(), expiresOn.getTime());
        assert.equal(secret.value, "p@ss");
      }
    });

    it("keeps a value of exactly 25,600 characters and refuses one more with 400", async () => {
      const name = uniqueName("long");
      const max = "x".repeat(25_600);
      const set = await client.setSecret(name, max);
      assert.equal(set.value?.length, 25_600);
      assert.equal((await client.getSecret(name)).value, max);
      await assertRestError(client.setSecret(name, max + "y"), {
        statusCode: 400,
        message: "Secret is beyond the maximum permitted length of 25600 characters.",
      });
    });

    it("answers 400 BadParameter for a name outside the service's rules, and the message adds the rule", async () => {
      const rule = "A secret name is 1 to 127 letters (a-z, A-Z), digits and dashes.";
      const refused = await assertRestError(client.setSecret("a_b", "v"), {
        statusCode: 400,
        code: "BadParameter",
        message: `The request URI contains an invalid name: a_b. ${rule}`,
      });
      // details keep the service's own message, as 4.x deserializes it.
      const details = refused.details as { error: { message: string } };
      assert.equal(details.error.message, "The request URI contains an invalid name: a_b");
      const tooLong = "n".repeat(128);
      await assertRestError(client.setSecret(tooLong, "v"), {
        statusCode: 400,
        code: "BadParameter",
        message: `The request URI contains an invalid name: ${tooLong}. ${rule}`,
      });
      const name = "Invalid_Secret_Name";
      const everyMethod: [string, () => Promise<unknown>][] = [
        ["getSecret", () => client.getSecret(name)],
        [
          "updateSecretProperties",
          () => client.updateSecretProperties(name, "", { enabled: false }),
        ],
        ["beginDeleteSecret", () => client.beginDeleteSecret(name)],
        ["getDeletedSecret", () => client.getDeletedSecret(name)],
        ["purgeDeletedSecret", () => client.purgeDeletedSecret(name)],
        ["beginRecoverDeletedSecret", () => client.beginRecoverDeletedSecret(name)],
        ["backupSecret", () => client.backupSecret(name)],
        [
          "listPropertiesOfSecretVersions",
          () => client.listPropertiesOfSecretVersions(name).next(),
        ],
      ];
      for (const [method, call] of everyMethod) {
        const error = await assertRestError(call(), { statusCode: 400, code: "BadParameter" });
        assert.equal(
          error.message,
          `The request URI contains an invalid name: ${name}. ${rule}`,
          method,
        );
      }
      const longest = "n".repeat(127);
      assert.equal((await client.setSecret(longest, "v")).name, longest);
    });

    it("refuses an empty name before any request, stating the rule", async () => {
      await assert.rejects(client.getSecret(""), {
        name: "TypeError",
        message:
          "secretName must be a non-empty string, got an empty string. A secret name is 1 to 127 letters (a-z, A-Z), digits and dashes.",
      });
      await assert.rejects(client.setSecret("a/b", "v"), {
        name: "TypeError",
        message: /^secretName "a\/b" cannot be used: .* A secret name is 1 to 127 letters/,
      });
    });

    it("answers 400 BadParameter for 16 tags", async () => {
      const tags: Record<string, string> = {};
      for (let i = 0; i < 16; i++) tags[`t${i}`] = "v";
      await assertRestError(client.setSecret(uniqueName("tags"), "v", { tags }), {
        statusCode: 400,
        code: "BadParameter",
        message: "Property has invalid value",
      });
    });
  });

  describe("getSecret", () => {
    it("answers 404 SecretNotFound with the service's message for an unknown name", async () => {
      const name = uniqueName("missing");
      const error = await assertRestError(client.getSecret(name), {
        statusCode: 404,
        code: "SecretNotFound",
        message: secretNotFoundMessage(name),
        innerCode: null,
      });
      assert.match(
        error.response?.headers.get("x-ms-keyvault-service-version") ?? "",
        /^\d+(\.\d+)+$/,
      );
      assert.match(error.response?.headers.get("x-ms-request-id") ?? "", /^[0-9a-f-]{36}$/);
    });

    it("answers 404 naming name/version for an unknown version of a known secret", async () => {
      const name = uniqueName("nover");
      await client.setSecret(name, "v");
      const version = "0".repeat(32);
      await assertRestError(client.getSecret(name, { version }), {
        statusCode: 404,
        code: "SecretNotFound",
        message: secretNotFoundMessage(`${name}/${version}`),
      });
    });

    it("answers 403 Forbidden / SecretDisabled for a disabled version, other versions readable", async () => {
      const name = uniqueName("disabled");
      const enabled = await client.setSecret(name, "on");
      const disabled = await client.setSecret(name, "off", { enabled: false });
      assert.equal(disabled.properties.enabled, false);
      await assertRestError(client.getSecret(name), {
        statusCode: 403,
        code: "Forbidden",
        message: secretDisabledMessage,
        innerCode: "SecretDisabled",
      });
      await assertRestError(client.getSecret(name, { version: disabled.properties.version }), {
        statusCode: 403,
        code: "Forbidden",
        innerCode: "SecretDisabled",
      });
      const older = await client.getSecret(name, { version: enabled.properties.version });
      assert.equal(older.value, "on");
    });

    it("reads a secret outside its notBefore/expiresOn window (the dates are informational)", async () => {
      const name = uniqueName("window");
      await client.setSecret(name, "v", {
        notBefore: wholeSecondDate(dayInMs),
        expiresOn: wholeSecondDate(2 * dayInMs),
      });
      assert.equal((await client.getSecret(name)).value, "v");
      const expired = uniqueName("expired");
      await client.setSecret(expired, "old", { expiresOn: wholeSecondDate(-dayInMs) });
      assert.equal((await client.getSecret(expired)).value, "old");
    });
  });

  describe("names and service versions", () => {
    it("treats names case-insensitively", async () => {
      const name = uniqueName("MixedCase");
      const set = await client.setSecret(name, "v");
      const read = await client.getSecret(name.toLowerCase());
      assert.equal(read.value, "v");
      assert.equal(read.properties.version, set.properties.version);
      const next = await client.setSecret(name.toUpperCase(), "w");
      assert.equal(
        (await collect(client.listPropertiesOfSecretVersions(name))).length,
        2,
        "a set in another case adds a version to the same secret",
      );
      assert.equal((await client.getSecret(name)).properties.version, next.properties.version);
    });

    it("speaks api-version 7.0 (no recoverableDays) and 7.6; no previousVersion on plain secrets", async () => {
      const name = uniqueName("apis");
      const v70 = localClient(vault, { serviceVersion: "7.0" });
      const v76 = localClient(vault, { serviceVersion: "7.6" });
      await client.setSecret(name, "one");
      const first = await v70.setSecret(name, "two");
      assert.equal(first.properties.recoverableDays, undefined);
      assert.equal(first.properties.recoveryLevel, "Recoverable+Purgeable");
      const second = await v76.getSecret(name);
      assert.equal(second.properties.recoverableDays, 90);
      assert.equal(second.properties.previousVersion, undefined);
      const latest = await client.getSecret(name);
      assert.equal(latest.properties.previousVersion, undefined);
      v70.close();
      v76.close();
    });
  });

  describe("updateSecretProperties", () => {
    it("updates an older version without touching the latest, and never the value", async () => {
      const name = uniqueName("upd");
      const v1 = await client.setSecret(name, "first", { tags: { a: "1" } });
      const v2 = await client.setSecret(name, "second", { contentType: "latest/type" });
      const expiresOn = wholeSecondDate(7 * dayInMs);
      const updated = await client.updateSecretProperties(name, v1.properties.version ?? "", {
        tags: { b: "2" },
        contentType: "text/old",
        expiresOn,
      });
      assert.equal(updated.version, v1.properties.version);
      assert.equal(updated.name, name);
      assert.deepEqual(updated.tags, { b: "2" });
      assert.equal(updated.contentType, "text/old");
      assert.equal(updated.expiresOn?.getTime(), expiresOn.getTime());
      assert.equal((updated as { value?: string }).value, undefined);

      const latest = await client.getSecret(name);
      assert.equal(latest.properties.version, v2.properties.version);
      assert.equal(latest.value, "second");
      assert.equal(latest.properties.contentType, "latest/type");
      assert.equal(latest.properties.tags, undefined);
      assert.equal(latest.properties.expiresOn, undefined);

      const old = await client.getSecret(name, { version: v1.properties.version });
      assert.equal(old.value, "first");
      assert.deepEqual(old.properties.tags, { b: "2" });
      assert.equal(old.properties.contentType, "text/old");
    });

    it("updates the latest version when the version is empty, keeping omitted fields", async () => {
      const name = uniqueName("updlatest");
      await client.setSecret(name, "v1");
      const v2 = await client.setSecret(name, "v2", { tags: { keep: "me" }, contentType: "ct" });
      const updated = await client.updateSecretProperties(name, "", { enabled: false });
      assert.equal(updated.version, v2.properties.version);
      assert.equal(updated.enabled, false);
      assert.deepEqual(updated.tags, { keep: "me" });
      assert.equal(updated.contentType, "ct");
      await assertRestError(client.getSecret(name), {
        statusCode: 403,
        code: "Forbidden",
        innerCode: "SecretDisabled",
      });
      const reenabled = await client.updateSecretProperties(name, v2.properties.version ?? "", {
        enabled: true,
      });
      assert.equal(reenabled.enabled, true);
      assert.equal((await client.getSecret(name)).value, "v2");
    });

    it("answers 404 for an unknown secret", async () => {
      const name = uniqueName("updmissing");
      await assertRestError(client.updateSecretProperties(name, "", { tags: { a: "b" } }), {
        statusCode: 404,
        code: "SecretNotFound",
        message: secretNotFoundMessage(name),
      });
    });
  });

  describe("listPropertiesOfSecretVersions", () => {
    it("lists every version with its versioned id and no value", async () => {
      const name = uniqueName("versions");
      const set = [];
      for (const value of ["a", "b", "c"]) set.push(await client.setSecret(name, value));
      const versions = await collect(client.listPropertiesOfSecretVersions(name));
      assert.deepEqual(
        versions.map((v) => v.version).sort(),
        set.map((s) => s.properties.version).sort(),
      );
      for (const v of versions) {
        assert.equal(v.name, name);
        assert.equal(v.id, `${vault.vaultUrl}/secrets/${name}/${v.version}`);
        assert.equal((v as { value?: string }).value, undefined);
        assert.equal(v.enabled, true);
      }
    });

    it("lists nothing for an unknown name", async () => {
      assert.deepEqual(await collect(client.listPropertiesOfSecretVersions(uniqueName("no"))), []);
    });
  });

  describe("sendRequest", () => {
    it("sends a raw GET through the pipeline (auth and api-version added) and returns the body", async () => {
      const name = uniqueName("raw");
      const set = await client.setSecret(name, "raw-value");
      const response = await client.sendRequest(
        createPipelineRequest({ url: `/secrets/${name}`, method: "GET" }),
      );
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
      assert.ok(response.headers.get("x-ms-keyvault-region"));
      assert.equal(response.headers.get("cache-control"), "no-cache");
      const body = JSON.parse(response.bodyAsText ?? "");
      assert.equal(body.value, "raw-value");
      assert.equal(body.id, set.properties.id);
      assert.equal(body.attributes.enabled, true);
      assert.equal(typeof body.attributes.created, "number");
    });

    it("echoes x-ms-client-request-id and answers 400 for an api-version the service does not know", async () => {
      const request = createPipelineRequest({
        url: `/secrets/${uniqueName("apiver")}?api-version=9.9`,
        method: "GET",
      });
      const response = await client.sendRequest(request);
      assert.equal(response.status, 400);
      // The id the pipeline sends is the request's own requestId (the caller's request is not changed).
      assert.equal(response.headers.get("x-ms-client-request-id"), request.requestId);
      const body = JSON.parse(response.bodyAsText ?? "");
      assert.equal(body.error.code, "BadParameter");
      assert.match(
        body.error.message,
        /^The specified version \(9\.9\) is not recognized\. Consider using the latest supported version \(.+\)\.$/,
      );
    });

    it("returns an error status instead of throwing", async () => {
      const name = uniqueName("rawmissing");
      const response = await client.sendRequest(
        createPipelineRequest({ url: `${vault.vaultUrl}/secrets/${name}`, method: "GET" }),
      );
      assert.equal(response.status, 404);
      const body = JSON.parse(response.bodyAsText ?? "");
      assert.deepEqual(body, {
        error: { code: "SecretNotFound", message: secretNotFoundMessage(name) },
      });
    });
  });

  describe("secret hygiene", () => {
    it("keeps the value out of errors (message, inspect, JSON) the vault refuses", async () => {
      const marker = `hygiene-${uniqueName("marker")}`;
      const tooLong = marker + "x".repeat(25_600);
      const error = await assertRestError(client.setSecret(uniqueName("hyg"), tooLong), {
        statusCode: 400,
      });
      for (const text of [error.message, inspect(error, { depth: 10 }), JSON.stringify(error)]) {
        assert.ok(!text.includes(marker), "the secret value leaked into the error");
      }
      const name = uniqueName("hygdel");
      await client.setSecret(name, "v");
      await (await client.beginDeleteSecret(name, { intervalInMs: 10 })).pollUntilDone();
      const conflict = await assertRestError(client.setSecret(name, marker), {
        statusCode: 409,
      });
      assert.ok(!inspect(conflict, { depth: 10 }).includes(marker));
      assert.ok(!JSON.stringify(conflict).includes(marker));
    });

    it("keeps tokens out of errors", async () => {
      const token = (await vault.credential.getToken("https://vault.azure.net/.default"))?.token;
      assert.ok(token);
      const error = await assertRestError(client.getSecret(uniqueName("hygtok")), {
        statusCode: 404,
      });
      assert.ok(!inspect(error, { depth: 10 }).includes("Bearer ey"));
      assert.ok(!JSON.stringify(error).includes("Bearer ey"));
    });
  });
});
