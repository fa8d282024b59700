import assert from "node:assert/strict";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertVaultError, callVault } from "./localVaultTestKit.js";

const invalidValue = "Property has invalid value";

describe("local vault: limits and request rules", () => {
  let vault: LocalVault;

  before(async () => {
    vault = await startLocalVault();
  });
  after(() => vault.close());

  describe("names", () => {
    for (const name of ["Invalid_Secret_Name", "a.b", "x".repeat(128)]) {
      it(`rejects the name ${name.slice(0, 24)} with 400 BadParameter`, async () => {
        assertVaultError(
          await callVault(vault, "PUT", `/secrets/${name}`, { body: { value: "v" } }),
          400,
          "BadParameter",
          `The request URI contains an invalid name: ${name}`,
        );
      });
    }

    it("accepts a 127-character name of letters, digits and dashes", async () => {
      const name = `a-1${"b".repeat(124)}`;
      const answer = await callVault(vault, "PUT", `/secrets/${name}`, { body: { value: "v" } });
      assert.equal(answer.status, 200);
    });

    it("rejects an invalid name on get and on deleted secrets too", async () => {
      assertVaultError(
        await callVault(vault, "GET", "/secrets/bad_name"),
        400,
        "BadParameter",
        "The request URI contains an invalid name: bad_name",
      );
      assertVaultError(
        await callVault(vault, "GET", "/deletedsecrets/bad_name"),
        400,
        "BadParameter",
        "The request URI contains an invalid name: bad_name",
      );
    });
  });

  describe("bodies", () => {
    it("accepts a value of 25600 characters and rejects 25601", async () => {
      const ok = await callVault(vault, "PUT", "/secrets/long", {
        body: { value: "x".repeat(25600) },
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.value.length, 25600);
      assertVaultError(
        await callVault(vault, "PUT", "/secrets/long", { body: { value: "x".repeat(25601) } }),
        400,
        "BadParameter",
        "Secret is beyond the maximum permitted length of 25600 characters.",
      );
    });

    it("rejects a contentType longer than 255 characters", async () => {
      assert.equal(
        (
          await callVault(vault, "PUT", "/secrets/ct", {
            body: { value: "v", contentType: "c".repeat(255) },
          })
        ).status,
        200,
      );
      assertVaultError(
        await callVault(vault, "PUT", "/secrets/ct", {
          body: { value: "v", contentType: "c".repeat(256) },
        }),
        400,
        "BadParameter",
        invalidValue,
      );
      assertVaultError(
        await callVault(vault, "PATCH", "/secrets/ct", { body: { contentType: "c".repeat(256) } }),
        400,
        "BadParameter",
        invalidValue,
      );
    });

    it("accepts 15 tags and rejects 16", async () => {
      const tags = (n: number) =>
        Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, "v"]));
      assert.equal(
        (await callVault(vault, "PUT", "/secrets/tags", { body: { value: "v", tags: tags(15) } }))
          .status,
        200,
      );
      assertVaultError(
        await callVault(vault, "PUT", "/secrets/tags", { body: { value: "v", tags: tags(16) } }),
        400,
        "BadParameter",
        invalidValue,
      );
    });

    it("rejects a tag name or value longer than 512 characters", async () => {
      assert.equal(
        (
          await callVault(vault, "PUT", "/secrets/tagl", {
            body: { value: "v", tags: { ["n".repeat(512)]: "v".repeat(512) } },
          })
        ).status,
        200,
      );
      for (const tags of [{ ["n".repeat(513)]: "v" }, { n: "v".repeat(513) }, { n: 5 }]) {
        assertVaultError(
          await callVault(vault, "PUT", "/secrets/tagl", { body: { value: "v", tags } }),
          400,
          "BadParameter",
          invalidValue,
        );
      }
    });

    it("accepts nbf and exp from 1970 to the end of 9999 and refuses dates beyond, on set and update", async () => {
      const lastSecond = 253_402_300_799; // 9999-12-31T23:59:59Z
      const set = await callVault(vault, "PUT", "/secrets/dates", {
        body: { value: "v", attributes: { nbf: 0, exp: lastSecond } },
      });
      assert.equal(set.status, 200);
      assert.equal(set.body.attributes.exp, lastSecond);
      const refused: [string, unknown][] = [
        ["an exp of 1e13 (no JavaScript date)", { exp: 1e13 }],
        ["the first second of 10000", { exp: lastSecond + 1 }],
        ["an nbf of 1e13", { nbf: 1e13 }],
        ["a negative nbf", { nbf: -1 }],
        ["a fraction", { exp: 1.5 }],
        ["a date as text", { exp: "2030-01-01T00:00:00Z" }],
      ];
      for (const [what, attributes] of refused) {
        for (const [method, body] of [
          ["PUT", { value: "v", attributes }],
          ["PATCH", { attributes }],
        ] as const) {
          const answer = await callVault(vault, method, "/secrets/dates", { body });
          assert.equal(answer.status, 400, `${method} with ${what}`);
          assertVaultError(answer, 400, "BadParameter", invalidValue);
        }
      }
      const kept = await callVault(vault, "GET", "/secrets/dates");
      assert.equal(kept.body.attributes.exp, lastSecond, "nothing refused was stored");
      const versions = await callVault(vault, "GET", "/secrets/dates/versions");
      assert.equal(versions.body.value.length, 1);
    });

    it("rejects malformed JSON, a missing value and a non-object body", async () => {
      assertVaultError(
        await callVault(vault, "PUT", "/secrets/json", { rawBody: "{not json" }),
        400,
        "BadParameter",
        "The request body is not valid JSON.",
      );
      assertVaultError(
        await callVault(vault, "PUT", "/secrets/json", { body: { contentType: "x" } }),
        400,
        "BadParameter",
        "The request body is missing the required property 'value'.",
      );
      assertVaultError(
        await callVault(vault, "PUT", "/secrets/json", { body: [1] }),
        400,
        "BadParameter",
        "The request body must be a JSON object.",
      );
      assertVaultError(
        await callVault(vault, "PUT", "/secrets/json", {
          body: { value: "v", attributes: { enabled: "yes" } },
        }),
        400,
        "BadParameter",
        invalidValue,
      );
    });
  });

  describe("api-version", () => {
    it("accepts every known version and 2016-10-01", async () => {
      for (const apiVersion of [
        "2016-10-01",
        "7.0",
        "7.1",
        "7.2",
        "7.3",
        "7.4",
        "7.5",
        "7.6",
        "2025-07-01",
        "2026-04-01",
      ]) {
        const answer = await callVault(vault, "GET", "/secrets", { apiVersion });
        assert.equal(answer.status, 200, apiVersion);
      }
    });

    it("rejects an unknown version with the service's message", async () => {
      assertVaultError(
        await callVault(vault, "GET", "/secrets", { apiVersion: "7.9" }),
        400,
        "BadParameter",
        "The specified version (7.9) is not recognized. Consider using the latest supported version (2026-04-01).",
      );
    });

    it("rejects a missing version", async () => {
      assertVaultError(
        await callVault(vault, "GET", "/secrets", { apiVersion: null }),
        400,
        "BadParameter",
        /api-version/,
      );
    });
  });

  describe("routes", () => {
    it("answers 404 with a Key Vault error body naming the path", async () => {
      assertVaultError(
        await callVault(vault, "GET", "/keys/k1"),
        404,
        "NotFound",
        "The requested resource /keys/k1 was not found.",
      );
      assertVaultError(
        await callVault(vault, "GET", "/secrets/a/b/c"),
        404,
        "NotFound",
        "The requested resource /secrets/a/b/c was not found.",
      );
    });

    it("answers 405 with an Allow header for a wrong method", async () => {
      const purgeByPut = await callVault(vault, "PUT", "/deletedsecrets/x");
      assertVaultError(purgeByPut, 405, "MethodNotAllowed", /PUT/);
      assert.equal(purgeByPut.headers.get("allow"), "GET, DELETE");
    });
  });

  describe("options", () => {
    it("rejects recoverableDays outside 7..90 and unknown recovery levels with RangeError", async () => {
      await assert.rejects(startLocalVault({ recoverableDays: 6 }), RangeError);
      await assert.rejects(startLocalVault({ recoverableDays: 91 }), RangeError);
      await assert.rejects(startLocalVault({ recoveryLevel: "Sometimes" }), RangeError);
      await assert.rejects(startLocalVault({ backupKey: "c2hvcnQ=" }), RangeError);
      await assert.rejects(startLocalVault({ faults: { errorRate: 2 } }), RangeError);
    });

    it("reports CustomizedRecoverable+Purgeable when recoverableDays < 90", async () => {
      const custom = await startLocalVault({ recoverableDays: 7 });
      try {
        const answer = await callVault(custom, "PUT", "/secrets/c", { body: { value: "v" } });
        assert.equal(answer.body.attributes.recoveryLevel, "CustomizedRecoverable+Purgeable");
        assert.equal(answer.body.attributes.recoverableDays, 7);
      } finally {
        await custom.close();
      }
    });
  });
});
