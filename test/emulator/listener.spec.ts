import assert from "node:assert/strict";
import { connect } from "node:net";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertVaultError, callVault } from "./localVaultTestKit.js";

// How the listener reads a request before any route sees it: path, query, api-version and the
// type of a body (test/emulator/security.spec.ts has the Host and Origin checks).

/**
 * Sends a request exactly as written and returns the status line's code.
 * @param vault - the vault
 * @param lines - request line and headers
 * @param body - the raw body, sent as is
 * @returns the status code
 */
function rawStatus(vault: LocalVault, lines: string[], body = ""): Promise<number> {
  const url = new URL(vault.vaultUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    socket.on("error", reject);
    socket.on("end", () => resolve(Number(text.split(" ")[1])));
    socket.end([...lines, `Host: ${url.host}`, "Connection: close", "", body].join("\r\n"));
  });
}

describe("local vault listener", () => {
  let vault: LocalVault;
  before(async () => {
    vault = await startLocalVault({ delayMs: 0 });
  });
  beforeEach(() => vault.reset());
  after(() => vault.close());

  describe("api-version", () => {
    for (const version of [
      "7.6-preview.1",
      "7.10-preview.12",
      "7.5-preview",
      "2026-03-01-preview",
      "2016-10-01",
    ]) {
      it(`accepts ${version}`, async () => {
        assert.equal(
          (await callVault(vault, "GET", "/secrets", { apiVersion: version })).status,
          200,
        );
      });
    }

    for (const version of ["x7.6-preview.1", "7.6-preview.1x", "7.6-previewx", "7.x-preview"]) {
      it(`refuses ${version} as not recognized`, async () => {
        assertVaultError(
          await callVault(vault, "GET", "/secrets", { apiVersion: version }),
          400,
          "BadParameter",
          /^The specified version \(.+\) is not recognized\./,
        );
      });
    }

    it("takes an empty api-version as a missing one", async () => {
      assertVaultError(
        await callVault(vault, "GET", "/secrets", { apiVersion: "" }),
        400,
        "BadParameter",
        /^The api-version query parameter is missing\./,
      );
    });

    it("leaves recoverableDays out before 7.1, as the service does", async () => {
      await callVault(vault, "PUT", "/secrets/kept", { body: { value: "v" } });
      for (const [version, shown] of [
        ["2016-10-01", false],
        ["7.0", false],
        ["7.6", true],
      ] as const) {
        const read = await callVault(vault, "GET", "/secrets/kept", { apiVersion: version });
        assert.equal(read.status, 200, version);
        assert.equal("recoverableDays" in read.body.attributes, shown, version);
      }
    });
  });

  describe("path and query", () => {
    it("answers the root path with 404, not a failure", async () => {
      assertVaultError(await callVault(vault, "GET", "/"), 404, "NotFound", /./);
    });

    it("answers an unknown path of its own with 404, before asking for a token or api-version", async () => {
      assertVaultError(
        await callVault(vault, "GET", "/__local/nothing", { token: null, apiVersion: null }),
        404,
        "NotFound",
        /\/__local\/nothing/,
      );
    });

    it("reads the query after '?' only: parameters in a path are no parameters", async () => {
      const answer = await callVault(vault, "GET", "/secrets&api-version=7.6", {
        apiVersion: null,
      });
      assert.equal(answer.status, 400, answer.text);
      assert.match(answer.body.error.message, /api-version/);
    });

    it("reads a parameter without '=' as an empty value", async () => {
      assertVaultError(
        await callVault(vault, "GET", "/secrets", { query: "maxresults" }),
        400,
        "BadParameter",
        /^Invalid maxresults value '': it must be an integer between 1 and 25\.$/,
      );
    });

    it("reads $skiptoken in any case, as the service does", async () => {
      for (const name of ["s1", "s2"]) {
        await callVault(vault, "PUT", `/secrets/${name}`, { body: { value: "v" } });
      }
      const first = await callVault(vault, "GET", "/secrets", { query: "maxresults=1" });
      const token = new URL(first.body.nextLink).searchParams.get("$skiptoken")!;
      const second = await callVault(vault, "GET", "/secrets", {
        query: `maxresults=1&$SkipToken=${encodeURIComponent(token)}`,
      });
      assert.equal(second.status, 200);
      assert.notEqual(second.body.value[0].id, first.body.value[0].id);
    });
  });

  describe("body types", () => {
    it("never refuses a GET, HEAD or OPTIONS for the type of its body", async () => {
      await callVault(vault, "PUT", "/secrets/kept", { body: { value: "v" } });
      for (const method of ["GET", "HEAD", "OPTIONS"]) {
        const status = await rawStatus(
          vault,
          [
            `${method} /secrets/kept?api-version=7.6 HTTP/1.1`,
            "Authorization: Bearer t",
            "Content-Type: text/plain",
            "Content-Length: 2",
          ],
          "hi",
        );
        assert.notEqual(status, 415, method);
      }
    });

    it("refuses a chunked body without a type on a state-changing route", async () => {
      await callVault(vault, "PUT", "/secrets/kept", { body: { value: "v" } });
      const status = await rawStatus(
        vault,
        ["POST /__local/reset HTTP/1.1", "Authorization: Bearer t", "Transfer-Encoding: chunked"],
        "2\r\n{}\r\n0\r\n\r\n",
      );
      assert.equal(status, 415);
      assert.equal((await callVault(vault, "GET", "/secrets/kept")).status, 200);
    });

    it("accepts JSON with spaces around the media type", async () => {
      const answer = await callVault(vault, "PUT", "/secrets/spaced", {
        rawBody: JSON.stringify({ value: "v" }),
        headers: { "content-type": " Application/JSON ; charset=utf-8" },
      });
      assert.equal(answer.status, 200);
    });
  });
});
