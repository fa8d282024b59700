import assert from "node:assert/strict";
import type { SecretClient as OfficialSecretClient } from "@azure/keyvault-secrets";
import { type SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  collect,
  dayInMs,
  deletedButRecoverableMessage,
  localClient,
  requestLog,
  secretDisabledMessage,
  secretNotFoundMessage,
  uniqueName,
  wholeSecondDate,
} from "../integration/integrationTestKit.js";
import { errorOf, normalize, officialClient, placeholders } from "./oracle.js";

const intervalInMs = 10;
const createdDates = ["createdOn", "updatedOn"];
const deletionDates = ["createdOn", "updatedOn", "deletedOn", "scheduledPurgeDate"];

describe("interop: our client and the official @azure/keyvault-secrets 4.12 agree", () => {
  let vault: LocalVault;
  let ours: SecretClient;
  let official: OfficialSecretClient;

  before(async () => {
    vault = await startLocalVault({
      // Long enough that a poller serialized right after begin is still running on a loaded
      // machine (the resume tests need a poll after resumeFrom).
      delayMs: 200,
      restoreConflictAfterPurgeInMs: 0,
    });
    ours = localClient(vault);
    official = officialClient(vault);
  });
  after(async () => {
    ours.close();
    await vault.close();
  });

  /** One secret per client, set the same way by each. */
  async function setPair(
    prefix: string,
    values: string[] = ["v"],
  ): Promise<{ ourName: string; officialName: string; replace: Record<string, string> }> {
    const ourName = uniqueName(`ours-${prefix}`);
    const officialName = uniqueName(`off-${prefix}`);
    const replace = placeholders([{ ours: ourName, official: officialName, as: "<name>" }]);
    for (const [i, value] of values.entries()) {
      const a = await ours.setSecret(ourName, value);
      const b = await official.setSecret(officialName, value);
      Object.assign(
        replace,
        placeholders([
          { ours: a.properties.version, official: b.properties.version, as: `<v${i}>` },
        ]),
      );
    }
    return { ourName, officialName, replace };
  }

  async function deletePair(ourName: string, officialName: string): Promise<void> {
    await (await ours.beginDeleteSecret(ourName, { intervalInMs })).pollUntilDone();
    await (await official.beginDeleteSecret(officialName, { intervalInMs })).pollUntilDone();
  }

  describe("setSecret and getSecret", () => {
    it("set maps the same bundle to the same KeyVaultSecret", async () => {
      const ourName = uniqueName("ours-set");
      const officialName = uniqueName("off-set");
      const options = {
        tags: { env: "interop", empty: "" },
        contentType: "application/json",
        enabled: true,
        notBefore: wholeSecondDate(-dayInMs),
        expiresOn: wholeSecondDate(10 * dayInMs),
      };
      const a = await ours.setSecret(ourName, '{"k":1}', options);
      const b = await official.setSecret(officialName, '{"k":1}', options);
      const replace = placeholders([
        { ours: ourName, official: officialName, as: "<name>" },
        { ours: a.properties.version, official: b.properties.version, as: "<version>" },
      ]);
      assert.deepEqual(
        normalize(a, { replace, maskDates: createdDates }),
        normalize(b, { replace, maskDates: createdDates }),
      );
      assert.ok(b.properties.notBefore instanceof Date && a.properties.notBefore instanceof Date);
    });

    it("get (latest and by version) maps the same secret identically", async () => {
      const { ourName } = await setPair("get", ["first", "second"]);
      const versions = await collect(ours.listPropertiesOfSecretVersions(ourName));
      assert.deepEqual(
        normalize(await ours.getSecret(ourName)),
        normalize(await official.getSecret(ourName)),
      );
      for (const { version } of versions) {
        assert.deepEqual(
          normalize(await ours.getSecret(ourName, { version })),
          normalize(await official.getSecret(ourName, { version })),
        );
      }
    });

    it("a set by one client is read back the same by the other", async () => {
      const name = uniqueName("cross");
      const setByOfficial = await official.setSecret(name, "from official", { tags: { a: "b" } });
      const readByOurs = await ours.getSecret(name);
      assert.deepEqual(normalize(readByOurs), normalize(setByOfficial));
      const setByOurs = await ours.setSecret(name, "from ours", { contentType: "text/plain" });
      assert.deepEqual(normalize(await official.getSecret(name)), normalize(setByOurs));
    });

    it("404 for an unknown secret: same status, code and message", async () => {
      const name = uniqueName("missing");
      const a = await errorOf(ours.getSecret(name));
      const b = await errorOf(official.getSecret(name));
      assert.deepEqual(a, b);
      assert.equal(a.statusCode, 404);
      assert.equal(a.code, "SecretNotFound");
      assert.equal(a.message, secretNotFoundMessage(name));
    });

    it("403 for a disabled secret: same status, code, message and inner code", async () => {
      const name = uniqueName("disabled");
      await ours.setSecret(name, "v", { enabled: false });
      const a = await errorOf(ours.getSecret(name));
      const b = await errorOf(official.getSecret(name));
      assert.deepEqual(a, b);
      assert.deepEqual(
        { statusCode: a.statusCode, code: a.code, message: a.message, innerCode: a.innerCode },
        {
          statusCode: 403,
          code: "Forbidden",
          message: secretDisabledMessage,
          innerCode: "SecretDisabled",
        },
      );
    });

    it("RestError.details has the 4.x shape (error.innerError) the official client gives", async () => {
      const name = uniqueName("details");
      await ours.setSecret(name, "v", { enabled: false });
      const detailsOf = async (promise: Promise<unknown>): Promise<unknown> => {
        try {
          await promise;
        } catch (error) {
          return (error as { details?: { error?: { innerError?: unknown } } }).details?.error
            ?.innerError;
        }
        assert.fail("expected the operation to fail");
      };
      const officialInner = normalize(await detailsOf(official.getSecret(name)));
      assert.deepEqual(officialInner, { code: "SecretDisabled" });
      // Code written for 4.x reads err.details.error.innerError.code.
      assert.deepEqual(normalize(await detailsOf(ours.getSecret(name))), officialInner);
    });

    it("400 for an invalid name: same status and code; our message adds the rule", async () => {
      const a = await errorOf(ours.setSecret("a_b", "v"));
      const b = await errorOf(official.setSecret("a_b", "v"));
      // Our improvement (README, Migrating): the service's message, then the rule.
      assert.equal(
        a.message,
        `${b.message}. A secret name is 1 to 127 letters (a-z, A-Z), digits and dashes.`,
      );
      assert.deepEqual({ ...a, message: b.message }, b);
      assert.equal(a.statusCode, 400);
      assert.equal(a.code, "BadParameter");
    });
  });

  describe("updateSecretProperties", () => {
    it("updating an older version gives the same properties", async () => {
      const { ourName, officialName, replace } = await setPair("upd", ["one", "two"]);
      const ourOld = (await collect(ours.listPropertiesOfSecretVersions(ourName))).find(
        (v) => replace[v.version ?? ""] === "<v0>",
      );
      const officialOld = (
        await collect(official.listPropertiesOfSecretVersions(officialName))
      ).find((v) => replace[v.version ?? ""] === "<v0>");
      assert.ok(ourOld?.version && officialOld?.version);
      const options = {
        tags: { updated: "yes" },
        contentType: "text/updated",
        enabled: false,
        expiresOn: wholeSecondDate(3 * dayInMs),
      };
      const a = await ours.updateSecretProperties(ourName, ourOld.version, options);
      const b = await official.updateSecretProperties(officialName, officialOld.version, options);
      assert.deepEqual(
        normalize(a, { replace, maskDates: createdDates }),
        normalize(b, { replace, maskDates: createdDates }),
      );
      assert.equal(a.version, ourOld.version);
      assert.equal((await ours.getSecret(ourName)).value, "two");
      assert.equal((await official.getSecret(officialName)).value, "two");
    });
  });

  describe("delete, recover and purge", () => {
    it("delete pollers give the same deleted secret", async () => {
      const { ourName, officialName, replace } = await setPair("del");
      const ourPoller = await ours.beginDeleteSecret(ourName, { intervalInMs });
      const officialPoller = await official.beginDeleteSecret(officialName, { intervalInMs });
      // Right after begin (whether or not the first read-back already found the deleted secret: that
      // depends on timing, so isDone() is not compared here) both hold the same deleted secret.
      assert.deepEqual(
        normalize(ourPoller.getResult(), { replace, maskDates: deletionDates }),
        normalize(officialPoller.getResult(), { replace, maskDates: deletionDates }),
      );
      const a = await ourPoller.pollUntilDone();
      const b = await officialPoller.pollUntilDone();
      assert.deepEqual(
        normalize(a, { replace, maskDates: deletionDates }),
        normalize(b, { replace, maskDates: deletionDates }),
      );
      for (const deleted of [a, b]) {
        assert.ok(deleted.deletedOn && deleted.scheduledPurgeDate);
        assert.equal(
          deleted.scheduledPurgeDate.getTime() - deleted.deletedOn.getTime(),
          90 * dayInMs,
        );
      }
      assert.deepEqual(
        normalize(await ours.getDeletedSecret(ourName)),
        normalize(await official.getDeletedSecret(ourName)),
      );
    });

    it("list deleted secrets gives the same items", async () => {
      const { ourName, officialName } = await setPair("listdel");
      await deletePair(ourName, officialName);
      const pick = <T extends { name: string }>(items: T[]): T[] =>
        items
          .filter((d) => d.name === ourName || d.name === officialName)
          .sort((x, y) => x.name.localeCompare(y.name));
      const a = pick(await collect(ours.listDeletedSecrets()));
      const b = pick(await collect(official.listDeletedSecrets()));
      assert.equal(a.length, 2);
      assert.deepEqual(normalize(a), normalize(b));
    });

    it("404 for get deleted on a live name, 409 for set on a deleted name: same errors", async () => {
      const { ourName, officialName } = await setPair("errs");
      const notDeleted = [
        await errorOf(ours.getDeletedSecret(ourName)),
        await errorOf(official.getDeletedSecret(ourName)),
      ];
      assert.deepEqual(notDeleted[0], notDeleted[1]);
      assert.equal(notDeleted[0].statusCode, 404);
      assert.equal(notDeleted[0].message, secretNotFoundMessage(ourName));

      await deletePair(ourName, officialName);
      const a = await errorOf(ours.setSecret(officialName, "reuse"));
      const b = await errorOf(official.setSecret(officialName, "reuse"));
      assert.deepEqual(a, b);
      assert.deepEqual(
        { statusCode: a.statusCode, code: a.code, message: a.message, innerCode: a.innerCode },
        {
          statusCode: 409,
          code: "Conflict",
          message: deletedButRecoverableMessage(officialName),
          innerCode: "ObjectIsDeletedButRecoverable",
        },
      );
    });

    it("recover pollers give the same properties, with every version back", async () => {
      const { ourName, officialName, replace } = await setPair("rec", ["a", "b"]);
      await deletePair(ourName, officialName);
      const a = await (
        await ours.beginRecoverDeletedSecret(ourName, { intervalInMs })
      ).pollUntilDone();
      const b = await (
        await official.beginRecoverDeletedSecret(officialName, { intervalInMs })
      ).pollUntilDone();
      assert.deepEqual(
        normalize(a, { replace, maskDates: createdDates }),
        normalize(b, { replace, maskDates: createdDates }),
      );
      assert.equal((await collect(official.listPropertiesOfSecretVersions(ourName))).length, 2);
      assert.equal((await collect(ours.listPropertiesOfSecretVersions(officialName))).length, 2);
    });

    it("recover of a secret that is not deleted is done at once in both", async () => {
      const name = uniqueName("recnoop");
      await ours.setSecret(name, "v");
      const a = await ours.beginRecoverDeletedSecret(name, { intervalInMs });
      const b = await official.beginRecoverDeletedSecret(name, { intervalInMs });
      assert.equal(a.isDone(), true);
      assert.equal(b.isDone(), true);
      assert.deepEqual(normalize(await a.pollUntilDone()), normalize(await b.pollUntilDone()));
    });

    it("delete of an unknown secret: same error", async () => {
      const name = uniqueName("delmissing");
      const a = await errorOf(ours.beginDeleteSecret(name, { intervalInMs }));
      const b = await errorOf(official.beginDeleteSecret(name, { intervalInMs }));
      assert.deepEqual(a, b);
      assert.equal(a.statusCode, 404);
      assert.equal(a.message, secretNotFoundMessage(name));
    });

    it("purge answers the same, and both see the deleted secret gone", async () => {
      const { ourName, officialName } = await setPair("purge");
      await deletePair(ourName, officialName);
      assert.equal(await ours.purgeDeletedSecret(ourName), undefined);
      assert.equal(await official.purgeDeletedSecret(officialName), undefined);
      const a = await errorOf(official.getDeletedSecret(ourName));
      const b = await errorOf(ours.getDeletedSecret(ourName));
      assert.deepEqual(a, b);
      assert.equal(a.statusCode, 404);
      const c = await errorOf(ours.purgeDeletedSecret(officialName));
      const d = await errorOf(official.purgeDeletedSecret(officialName));
      assert.deepEqual(c, d);
    });
  });

  describe("poller state compatibility (toString / resumeFrom)", () => {
    it("the official client resumes our delete poller without a second DELETE", async () => {
      const name = uniqueName("ours2off");
      await ours.setSecret(name, "v");
      const poller = await ours.beginDeleteSecret(name, { intervalInMs });
      poller.stopPolling();
      const log = requestLog("perCall");
      const logged = officialClient(vault, [log.config.policy]);
      const resumed = await logged.beginDeleteSecret(name, {
        resumeFrom: poller.toString(),
        intervalInMs,
      });
      const deleted = await resumed.pollUntilDone();
      assert.equal(deleted.name, name);
      assert.equal(deleted.recoveryId, `${vault.vaultUrl}/deletedsecrets/${name}`);
      assert.ok(deleted.deletedOn instanceof Date);
      assert.equal(log.matching("DELETE", `/secrets/${name}`).length, 0);
      assert.ok(log.matching("GET", `/deletedsecrets/${name}`).length >= 1);
      assert.deepEqual(normalize(deleted), normalize(await ours.getDeletedSecret(name)));
    });

    it("our client resumes the official delete poller without a second DELETE", async () => {
      const name = uniqueName("off2ours");
      await official.setSecret(name, "v");
      const poller = await official.beginDeleteSecret(name, { intervalInMs });
      poller.stopPolling();
      const serialized = poller.toString();
      const log = requestLog("perCall");
      const client = localClient(vault, { additionalPolicies: [log.config] });
      const resumed = await client.beginDeleteSecret(name, {
        resumeFrom: serialized,
        intervalInMs,
      });
      const deleted = await resumed.pollUntilDone();
      assert.equal(deleted.name, name);
      assert.equal(log.matching("DELETE", `/secrets/${name}`).length, 0);
      assert.ok(log.matching("GET", `/deletedsecrets/${name}`).length >= 1);
      assert.deepEqual(normalize(deleted), normalize(await official.getDeletedSecret(name)));
      client.close();
    });

    it("recover pollers resume across the two clients both ways", async () => {
      const first = uniqueName("recours2off");
      const second = uniqueName("recoff2ours");
      for (const name of [first, second]) {
        await ours.setSecret(name, "v");
        await (await ours.beginDeleteSecret(name, { intervalInMs })).pollUntilDone();
      }
      const ourPoller = await ours.beginRecoverDeletedSecret(first, { intervalInMs });
      ourPoller.stopPolling();
      const officialLog = requestLog("perCall");
      const logged = officialClient(vault, [officialLog.config.policy]);
      const byOfficial = await (
        await logged.beginRecoverDeletedSecret(first, {
          resumeFrom: ourPoller.toString(),
          intervalInMs,
        })
      ).pollUntilDone();
      assert.equal(byOfficial.name, first);
      assert.equal(officialLog.matching("POST", `/deletedsecrets/${first}/recover`).length, 0);
      assert.equal((await ours.getSecret(first)).value, "v");

      const officialPoller = await official.beginRecoverDeletedSecret(second, { intervalInMs });
      officialPoller.stopPolling();
      const log = requestLog("perCall");
      const client = localClient(vault, { additionalPolicies: [log.config] });
      const byOurs = await (
        await client.beginRecoverDeletedSecret(second, {
          resumeFrom: officialPoller.toString(),
          intervalInMs,
        })
      ).pollUntilDone();
      assert.equal(byOurs.name, second);
      assert.equal(log.matching("POST", `/deletedsecrets/${second}/recover`).length, 0);
      assert.equal((await official.getSecret(second)).value, "v");
      client.close();
    });

    it("a completed poller's toString() has the same state shape in both clients", async () => {
      const { ourName, officialName, replace } = await setPair("state");
      const a = await ours.beginDeleteSecret(ourName, { intervalInMs });
      const b = await official.beginDeleteSecret(officialName, { intervalInMs });
      await a.pollUntilDone();
      await b.pollUntilDone();
      const stateOf = (text: string): unknown => {
        const { state } = JSON.parse(text);
        return normalize(state, { replace, maskDates: [] });
      };
      const mask = (state: unknown): unknown =>
        JSON.parse(JSON.stringify(state).replace(/"\d{4}-\d{2}-\d{2}T[^"]+"/g, '"<date>"'));
      assert.deepEqual(mask(stateOf(a.toString())), mask(stateOf(b.toString())));
    });
  });

  describe("backup and restore", () => {
    it("a backup made by one client is restored by the other, identically", async () => {
      const { ourName, officialName, replace } = await setPair("bak", ["x", "y"]);
      const ourBackup = await ours.backupSecret(ourName);
      const officialBackup = await official.backupSecret(officialName);
      assert.ok(ourBackup instanceof Uint8Array && officialBackup instanceof Uint8Array);
      await deletePair(ourName, officialName);
      await ours.purgeDeletedSecret(ourName);
      await official.purgeDeletedSecret(officialName);

      const a = await ours.restoreSecretBackup(officialBackup);
      const b = await official.restoreSecretBackup(ourBackup);
      assert.deepEqual(
        normalize(a, { replace, maskDates: createdDates }),
        normalize(b, { replace, maskDates: createdDates }),
      );
      assert.equal((await ours.getSecret(ourName)).value, "y");
      assert.equal((await official.getSecret(officialName)).value, "y");
    });

    it("restore errors (name exists, garbage bytes) are the same", async () => {
      const name = uniqueName("bakerr");
      await ours.setSecret(name, "v");
      const backup = await ours.backupSecret(name);
      assert.ok(backup);
      const exists = [
        await errorOf(ours.restoreSecretBackup(backup)),
        await errorOf(official.restoreSecretBackup(backup)),
      ];
      assert.deepEqual(exists[0], exists[1]);
      assert.equal(exists[0].statusCode, 409);
      const garbage = new Uint8Array(64);
      const bad = [
        await errorOf(ours.restoreSecretBackup(garbage)),
        await errorOf(official.restoreSecretBackup(garbage)),
      ];
      assert.deepEqual(bad[0], bad[1]);
      assert.equal(bad[0].statusCode, 400);
    });
  });

  describe("lists", () => {
    it("listPropertiesOfSecrets and listPropertiesOfSecretVersions give the same items", async () => {
      const { ourName, officialName } = await setPair("list", ["1", "2", "3"]);
      const byId = <T extends { id?: string }>(items: T[]): T[] =>
        [...items].sort((x, y) => (x.id ?? "").localeCompare(y.id ?? ""));
      assert.deepEqual(
        normalize(byId(await collect(ours.listPropertiesOfSecrets()))),
        normalize(byId(await collect(official.listPropertiesOfSecrets()))),
      );
      for (const name of [ourName, officialName]) {
        assert.deepEqual(
          normalize(byId(await collect(ours.listPropertiesOfSecretVersions(name)))),
          normalize(byId(await collect(official.listPropertiesOfSecretVersions(name)))),
        );
      }
    });

    it("byPage with maxPageSize gives the same pages; both resume from our continuation token", async () => {
      const { ourName } = await setPair("pages", ["1", "2", "3", "4", "5"]);
      const a = await collect(
        ours.listPropertiesOfSecretVersions(ourName).byPage({ maxPageSize: 2 }),
      );
      const b = await collect(
        official.listPropertiesOfSecretVersions(ourName).byPage({ maxPageSize: 2 }),
      );
      assert.deepEqual(
        a.map((p) => p.length),
        [2, 2, 1],
      );
      assert.deepEqual(
        b.map((p) => p.length),
        [2, 2, 1],
      );
      assert.deepEqual(normalize(a.map((p) => [...p])), normalize(b.map((p) => [...p])));
      // The official 4.12 byPage() maps each page to a plain array and so drops its
      // continuationToken; it does accept one. Ours carries the nextLink on all but the last page.
      assert.deepEqual(
        a.map((p) => typeof p.continuationToken),
        ["string", "string", "undefined"],
      );
      const fromOurToken = await collect(
        official.listPropertiesOfSecretVersions(ourName).byPage({
          continuationToken: a[0].continuationToken,
          maxPageSize: 2,
        }),
      );
      const oursFromOurToken = await collect(
        ours.listPropertiesOfSecretVersions(ourName).byPage({
          continuationToken: a[0].continuationToken,
          maxPageSize: 2,
        }),
      );
      assert.deepEqual(
        normalize(oursFromOurToken.map((p) => [...p])),
        normalize(fromOurToken.map((p) => [...p])),
      );
      assert.deepEqual(normalize(fromOurToken.flat()), normalize(a.slice(1).flat()));
      assert.equal(fromOurToken.flat().length, 3);
    });
  });
});

describe("interop: both clients through empty pages (emptyPages: true)", () => {
  let vault: LocalVault;
  let ours: SecretClient;
  let official: OfficialSecretClient;

  before(async () => {
    vault = await startLocalVault({ delayMs: 30, emptyPages: true });
    ours = localClient(vault);
    official = officialClient(vault);
    for (const name of ["e-1", "e-2", "e-3"]) await ours.setSecret(name, "v");
  });
  after(async () => {
    ours.close();
    await vault.close();
  });

  it("lists the same items and the same page sizes", async () => {
    const a = await collect(ours.listPropertiesOfSecrets().byPage({ maxPageSize: 2 }));
    const b = await collect(official.listPropertiesOfSecrets().byPage({ maxPageSize: 2 }));
    assert.deepEqual(
      a.map((p) => p.length),
      b.map((p) => p.length),
    );
    assert.deepEqual(normalize(a.map((p) => [...p])), normalize(b.map((p) => [...p])));
    assert.equal(a.flat().length, 3);
    assert.deepEqual(
      normalize(await collect(ours.listPropertiesOfSecrets())),
      normalize(await collect(official.listPropertiesOfSecrets())),
    );
  });
});
