import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startLocalVault, type LocalVaultSeed } from "../../src/emulator/index.js";
import { parseSeed } from "../../src/emulator/state/seed.js";
import {
  assertRestError,
  localClient,
  secretDisabledMessage,
} from "../integration/integrationTestKit.js";

/** A value that must never appear in a message. */
const secretValue = "s3cr3t-value-never-in-messages";

describe("integration: seed files", () => {
  let directory: string;

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), "kv-seed-"));
  });
  after(() => fs.rm(directory, { recursive: true, force: true }));

  const writeSeed = async (name: string, content: unknown): Promise<string> => {
    const file = path.join(directory, name);
    await fs.writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
    return file;
  };

  const seed: LocalVaultSeed = {
    secrets: [
      { name: "db-password", value: "v1", contentType: "text/plain", tags: { owner: "data" } },
      { name: "api-key", value: "key-1", enabled: false },
      {
        name: "DB-Password",
        value: "v2",
        tags: { __proto__: "kept", rotated: "yes" },
        notBefore: "2026-01-01T00:00:00Z",
        expiresOn: "2030-06-30T12:30:00.999+02:00",
      },
    ],
  };

  it("loads every version of a file before the vault answers, with its properties", async () => {
    // JSON.stringify keeps "__proto__" as a key only when it is an own property.
    const text = JSON.stringify(seed).replace('"rotated"', '"__proto__":"kept","rotated"');
    const vault = await startLocalVault({ seed: await writeSeed("good.json", text) });
    try {
      const client = localClient(vault);
      const latest = await client.getSecret("db-password");
      assert.equal(latest.value, "v2");
      assert.equal(latest.name, "db-password", "the first spelling of a name is kept");
      assert.equal(latest.properties.contentType, undefined);
      assert.deepEqual(Object.entries(latest.properties.tags ?? {}), [
        ["__proto__", "kept"],
        ["rotated", "yes"],
      ]);
      assert.equal(latest.properties.notBefore?.toISOString(), "2026-01-01T00:00:00.000Z");
      // 12:30:00.999+02:00 is 10:30:00.999Z; the service keeps whole seconds.
      assert.equal(latest.properties.expiresOn?.toISOString(), "2030-06-30T10:30:00.000Z");

      const versions = [];
      for await (const v of client.listPropertiesOfSecretVersions("db-password")) versions.push(v);
      assert.equal(versions.length, 2);
      // A second apart, the current one last: creation times keep the file's order.
      const created = versions.map((v) => v.createdOn?.getTime() ?? 0).sort((a, b) => a - b);
      assert.equal(created[1] - created[0], 1000);
      assert.equal(latest.properties.createdOn?.getTime(), created[1]);
      const first = versions.find((v) => v.version !== latest.properties.version);
      const old = await client.getSecret("db-password", { version: first?.version });
      assert.equal(old.value, "v1");
      assert.equal(old.properties.contentType, "text/plain");
      assert.deepEqual(old.properties.tags, { owner: "data" });

      await assertRestError(client.getSecret("api-key"), {
        statusCode: 403,
        code: "Forbidden",
        message: secretDisabledMessage,
      });
      const names = [];
      for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
      assert.deepEqual(names.sort(), ["api-key", "db-password"]);
    } finally {
      await vault.close();
    }
  });

  it("takes the seed as an object too", async () => {
    const vault = await startLocalVault({ seed: { secrets: [{ name: "one", value: "1" }] } });
    try {
      assert.equal((await localClient(vault).getSecret("one")).value, "1");
    } finally {
      await vault.close();
    }
  });

  it("keeps what a persisted vault holds on restart and adds only new names", async () => {
    const location = path.join(directory, "state");
    const file = await writeSeed("restart.json", {
      secrets: [{ name: "kept", value: "from-seed" }],
    });
    const first = await startLocalVault({ location, seed: file });
    try {
      const client = localClient(first);
      await client.setSecret("kept", "changed-by-app");
      const poller = await client.beginDeleteSecret("kept");
      await poller.pollUntilDone();
    } finally {
      await first.close();
    }
    await writeSeed("restart.json", {
      secrets: [
        { name: "kept", value: "from-seed" },
        { name: "added", value: "new" },
      ],
    });
    const second = await startLocalVault({ location, seed: file });
    try {
      const client = localClient(second);
      const deleted = await client.getDeletedSecret("kept");
      assert.equal(deleted.name, "kept", "a deleted name is left deleted");
      assert.equal((await client.getSecret("added")).value, "new");
    } finally {
      await second.close();
    }
    const third = await startLocalVault({ location, seed: file });
    try {
      const versions = [];
      for await (const v of localClient(third).listPropertiesOfSecretVersions("added")) {
        versions.push(v);
      }
      assert.equal(versions.length, 1, "a restart with the same seed adds nothing twice");
    } finally {
      await third.close();
    }
  });

  it("keeps on restart a deleted secret that was disabled when deleted (it cannot be read)", async () => {
    const location = path.join(directory, "disabled-deleted");
    const file = await writeSeed("disabled-deleted.json", {
      secrets: [{ name: "off", value: "from-seed", enabled: false }],
    });
    const first = await startLocalVault({ location, seed: file });
    try {
      await (await localClient(first).beginDeleteSecret("off")).pollUntilDone();
    } finally {
      await first.close();
    }
    const second = await startLocalVault({ location, seed: file });
    try {
      const deleted = [];
      for await (const d of localClient(second).listDeletedSecrets()) deleted.push(d.name);
      assert.deepEqual(deleted, ["off"]);
    } finally {
      await second.close();
    }
  });

  const badFiles: [string, string, RegExp][] = [
    ["not JSON", `{"secrets": [{"name": "a", "value": "${secretValue}",}]}`, /is not valid JSON/],
    ["not an object", "[]", /must be a JSON object with a "secrets" array/],
    ["no secrets array", `{"secret": []}`, /unknown property "secret"/],
    ["missing value", `{"secrets": [{"name": "a"}]}`, /entry 1 \("a"\): "value" is missing/],
    [
      "bad name",
      `{"secrets": [{"name": "a", "value": "x"}, {"name": "no_underscores", "value": "${secretValue}"}]}`,
      /entry 2 \("no_underscores"\): "name" must be 1 to 127 letters, digits and dashes/,
    ],
    [
      "value too long",
      JSON.stringify({ secrets: [{ name: "long", value: secretValue.repeat(1000) }] }),
      /entry 1 \("long"\): "value" is longer than 25600 characters/,
    ],
    [
      "date without a time zone",
      `{"secrets": [{"name": "d", "value": "${secretValue}", "expiresOn": "2027-01-01T00:00:00"}]}`,
      /entry 1 \("d"\): "expiresOn" must be an ISO 8601 date and time with a time zone/,
    ],
    [
      "date after 9999 in UTC",
      `{"secrets": [{"name": "d", "value": "${secretValue}", "notBefore": "9999-12-31T23:30:00-01:00"}]}`,
      /entry 1 \("d"\): "notBefore" must be an ISO 8601 date and time with a time zone, from 1970 to 9999 in UTC/,
    ],
    [
      "enabled not a boolean",
      `{"secrets": [{"name": "e", "value": "x", "enabled": "yes"}]}`,
      /entry 1 \("e"\): "enabled" must be true or false/,
    ],
    [
      "too many tags",
      JSON.stringify({
        secrets: [
          {
            name: "t",
            value: secretValue,
            tags: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, "v"])),
          },
        ],
      }),
      /entry 1 \("t"\): "tags" has 16 tags; at most 15/,
    ],
    [
      "misspelt property",
      `{"secrets": [{"name": "m", "value": "x", "expiresAt": "2027-01-01T00:00:00Z"}]}`,
      /entry 1 \("m"\): unknown property "expiresAt"/,
    ],
  ];

  for (const [what, text, reason] of badFiles) {
    it(`fails the start on a bad file (${what}), naming the file, the entry and the reason`, async () => {
      const file = await writeSeed(`bad-${what.replace(/\W+/g, "-")}.json`, text);
      await assert.rejects(startLocalVault({ seed: file }), (error: Error) => {
        assert.ok(error instanceof TypeError, `${error.name}: ${error.message}`);
        assert.ok(error.message.startsWith(`Seed file "${file}"`), error.message);
        assert.match(error.message, reason);
        assert.ok(!error.message.includes(secretValue), "no value in the message");
        assert.ok(!String(error.cause ?? "").includes(secretValue), "no value in the cause");
        return true;
      });
    });
  }

  it("fails the start on a file that is missing or not a file", async () => {
    const missing = path.join(directory, "missing.json");
    await assert.rejects(startLocalVault({ seed: missing }), {
      name: "TypeError",
      message: `Seed file "${missing}" cannot be read: it does not exist.`,
    });
    await assert.rejects(startLocalVault({ seed: directory }), {
      name: "TypeError",
      message: `Seed file "${directory}" cannot be read: it is not a regular file.`,
    });
  });

  it("fails on a bad seed object before opening the location", async () => {
    const location = path.join(directory, "never-created");
    await assert.rejects(
      startLocalVault({ location, seed: { secrets: [{ name: "x" } as never] } }),
      { name: "TypeError", message: /^The seed option, entry 1 \("x"\): "value" is missing/ },
    );
    await assert.rejects(fs.stat(location), { code: "ENOENT" });
  });

  it("reports a JSON error by line and column, never with the text around it", () => {
    assert.throws(() => parseSeed(`{\n  "secrets": [\n    "${secretValue}" x ]}`, "S"), {
      message: /^S is not valid JSON( at line 3, column \d+)?\.$/,
    });
  });
});
