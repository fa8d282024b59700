import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { VaultAuth } from "../../src/emulator/http/auth.js";
import { VaultError } from "../../src/emulator/wire/errors.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertVaultError, callVault, notFoundMessage } from "./localVaultTestKit.js";

// Texts and shapes from the real-service recordings (api-version 2025-07-01, April 2026).
const restoreConflictPattern = (name: string): RegExp =>
  new RegExp(
    `^There was a conflict restoring the secret 'http://127\\.0\\.0\\.1:\\d+/secrets/${name}/[0-9a-f]{32}'\\. This can happen if either: a second secret with the same name was created after the first secret was deleted; thus trying to restore a secret whose name is already in use\\. To fix this, rename the second secret to something else so that the restore works\\. The second probable cause of this exception is when multiple operations are performed in parallel against the secret\\. To avoid this error, perform operations against a secret in a sequential manner\\.$`,
  );

describe("local vault: answers as the service gives them", () => {
  let vault: LocalVault;
  before(async () => {
    vault = await startLocalVault({ delayMs: 0, tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47" });
  });
  beforeEach(() => vault.reset());
  after(() => vault.close());

  it("answers outContentType on a secret that is not a PFX certificate with 400 BadParameter", async () => {
    await callVault(vault, "PUT", "/secrets/plain", { body: { value: "v" } });
    const pem = await callVault(vault, "GET", "/secrets/plain/", {
      apiVersion: "2025-07-01",
      query: "outContentType=application/x-pem-file",
    });
    assertVaultError(
      pem,
      400,
      "BadParameter",
      "The 'Unsupported' to 'PEM' transformation is not supported. Only PFX to PEM transformation is supported.",
    );
    const pfx = await callVault(vault, "GET", "/secrets/plain/", {
      apiVersion: "2026-03-01-preview",
      query: "outContentType=application/x-pkcs12",
    });
    assertVaultError(
      pfx,
      400,
      "BadParameter",
      "The 'Unsupported' to 'PFX' transformation is not supported. Only PFX to PEM transformation is supported.",
    );
    const without = await callVault(vault, "GET", "/secrets/plain/", { apiVersion: "2025-07-01" });
    assert.equal(without.status, 200);
  });

  it("names login.microsoftonline.com in the challenge, with the 2026 message", async () => {
    const answer = await callVault(vault, "PUT", "/secrets/x", { token: null });
    assertVaultError(
      answer,
      401,
      "Unauthorized",
      "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.",
    );
    assert.equal(
      answer.headers.get("www-authenticate"),
      'Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"',
    );
    assert.equal(answer.headers.get("x-ms-keyvault-rbac-assignment-id"), null);
  });

  it("answers recover of a name that is not deleted with the generic not-found message", async () => {
    const answer = await callVault(vault, "POST", "/deletedsecrets/never/recover");
    assertVaultError(answer, 404, "SecretNotFound", notFoundMessage("never"));
  });

  it("answers PUT /secrets/ (no name) with 405 'HTTP PUT not allowed', no Allow and no role assignment header", async () => {
    const answer = await callVault(vault, "PUT", "/secrets/", { body: { value: "v" } });
    assertVaultError(answer, 405, "MethodNotAllowed", "HTTP PUT not allowed");
    assert.equal(answer.headers.get("allow"), null);
    assert.equal(answer.headers.get("x-ms-keyvault-rbac-assignment-id"), null);
  });

  it("lists the versions of a name that never existed as an empty page", async () => {
    const answer = await callVault(vault, "GET", "/secrets/never-was/versions", {
      apiVersion: "2025-07-01",
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.text, '{"value":[],"nextLink":null}');
  });

  for (const apiVersion of ["2026-03-01-preview", "7.6-preview.2", "7.5-preview.1"]) {
    it(`accepts the preview api-version ${apiVersion}`, async () => {
      const answer = await callVault(vault, "PUT", "/secrets/preview", {
        body: { value: "v" },
        apiVersion,
      });
      assert.equal(answer.status, 200, answer.text);
    });
  }

  it("still refuses an api-version that is neither known nor a preview", async () => {
    for (const apiVersion of ["7.9", "2026-03-01-previews", "preview"]) {
      const answer = await callVault(vault, "GET", "/secrets", { apiVersion });
      assertVaultError(answer, 400, "BadParameter", /is not recognized/);
    }
  });

  it("answers restore right after a purge with 409 Conflict, then restores once the purge settled", async () => {
    await callVault(vault, "PUT", "/secrets/phoenix", { body: { value: "v" } });
    const backup = await callVault(vault, "POST", "/secrets/phoenix/backup");
    await callVault(vault, "DELETE", "/secrets/phoenix");
    assert.equal((await callVault(vault, "DELETE", "/deletedsecrets/phoenix")).status, 204);
    const early = await callVault(vault, "POST", "/secrets/restore", {
      body: { value: backup.body.value },
    });
    assertVaultError(early, 409, "Conflict", restoreConflictPattern("phoenix"));
    // About 5 s on the service; the vault's clock decides here, so no test waits for it.
    vault.advanceClock(4000);
    const still = await callVault(vault, "POST", "/secrets/restore", {
      body: { value: backup.body.value },
    });
    assert.equal(still.status, 409);
    vault.advanceClock(1000);
    const later = await callVault(vault, "POST", "/secrets/restore", {
      body: { value: backup.body.value },
    });
    assert.equal(later.status, 200, later.text);
  });

  it("answers restore over an existing name with the same conflict message", async () => {
    await callVault(vault, "PUT", "/secrets/twin", { body: { value: "v" } });
    const backup = await callVault(vault, "POST", "/secrets/twin/backup");
    const answer = await callVault(vault, "POST", "/secrets/restore", {
      body: { value: backup.body.value },
    });
    assertVaultError(answer, 409, "Conflict", restoreConflictPattern("twin"));
  });

  it("sends the service's headers; the role assignment only on authorized answers", async () => {
    const ok = await callVault(vault, "GET", "/secrets");
    assert.equal(ok.headers.get("pragma"), "no-cache");
    assert.equal(ok.headers.get("expires"), "-1");
    assert.equal(ok.headers.get("x-content-type-options"), "nosniff");
    assert.equal(ok.headers.get("cache-control"), "no-cache");
    assert.match(
      ok.headers.get("x-ms-keyvault-network-info") ?? "",
      /^conn_type=Ipv4;addr=127\.0\.0\.1;act_addr_fam=InterNetwork;$/,
    );
    assert.match(ok.headers.get("x-ms-keyvault-rbac-assignment-id") ?? "", /^[0-9a-f]{32}$/);
    assert.equal(ok.headers.get("strict-transport-security"), null, "http has no HSTS");
    const notFound = await callVault(vault, "GET", "/secrets/none");
    assert.equal(
      notFound.headers.get("x-ms-keyvault-rbac-assignment-id"),
      ok.headers.get("x-ms-keyvault-rbac-assignment-id"),
    );
  });

  it("keeps __proto__ and constructor as tags", async () => {
    const tags = JSON.parse('{"__proto__":"p","constructor":"c","toString":"t"}') as Record<
      string,
      string
    >;
    const set = await callVault(vault, "PUT", "/secrets/tagged", { body: { value: "v", tags } });
    assert.equal(set.status, 200);
    const expected = '{"__proto__":"p","constructor":"c","toString":"t"}';
    assert.equal(JSON.stringify(set.body.tags), expected);
    const got = await callVault(vault, "GET", "/secrets/tagged");
    assert.equal(JSON.stringify(got.body.tags), expected);
    const listed = await callVault(vault, "GET", "/secrets");
    assert.equal(JSON.stringify(listed.body.value[0].tags), expected);
    const updated = await callVault(vault, "PATCH", "/secrets/tagged", {
      body: { tags: JSON.parse('{"__proto__":"q"}') },
    });
    assert.equal(JSON.stringify(updated.body.tags), '{"__proto__":"q"}');
  });
});

describe("local vault: answers seen in other languages' recordings", () => {
  let vault: LocalVault;
  before(async () => {
    vault = await startLocalVault({ delayMs: 60_000 });
  });
  beforeEach(() => vault.reset());
  after(() => vault.close());

  async function deleteAndSettle(name: string): Promise<void> {
    assert.equal((await callVault(vault, "DELETE", `/secrets/${name}`)).status, 200);
    vault.advanceClock(60_000);
  }

  it("answers reading a deleted secret that was disabled when deleted with 403 SecretDisabled", async () => {
    await callVault(vault, "PUT", "/secrets/off", {
      body: { value: "v", attributes: { enabled: false } },
    });
    await deleteAndSettle("off");
    assertVaultError(
      await callVault(vault, "GET", "/deletedsecrets/off"),
      403,
      "Forbidden",
      "Operation get is not allowed on a disabled secret.",
      "SecretDisabled",
    );
    // Only reading it is refused: it is listed, and it can be recovered or purged.
    const listed = await callVault(vault, "GET", "/deletedsecrets");
    assert.deepEqual(
      listed.body.value.map((item: { recoveryId: string }) => new URL(item.recoveryId).pathname),
      ["/deletedsecrets/off"],
    );
    assert.equal((await callVault(vault, "DELETE", "/deletedsecrets/off")).status, 204);
  });

  it("reads a deleted secret whose latest version was enabled, whatever its older versions", async () => {
    await callVault(vault, "PUT", "/secrets/mixed", {
      body: { value: "1", attributes: { enabled: false } },
    });
    await callVault(vault, "PUT", "/secrets/mixed", { body: { value: "2" } });
    await deleteAndSettle("mixed");
    assert.equal((await callVault(vault, "GET", "/deletedsecrets/mixed")).status, 200);
  });

  it("answers reading a deleted secret that does not exist with the generic message", async () => {
    assertVaultError(
      await callVault(vault, "GET", "/deletedsecrets/never-deleted"),
      404,
      "SecretNotFound",
      notFoundMessage("never-deleted"),
    );
    await callVault(vault, "PUT", "/secrets/live", { body: { value: "v" } });
    assertVaultError(
      await callVault(vault, "GET", "/deletedsecrets/live"),
      404,
      "SecretNotFound",
      notFoundMessage("live"),
    );
  });

  it("answers a poll of a delete still running with 'Deleted Secret not found'", async () => {
    await callVault(vault, "PUT", "/secrets/going", { body: { value: "v" } });
    assert.equal((await callVault(vault, "DELETE", "/secrets/going")).status, 200);
    assertVaultError(
      await callVault(vault, "GET", "/deletedsecrets/going"),
      404,
      "SecretNotFound",
      "Deleted Secret not found: going",
    );
    vault.advanceClock(60_000);
    assert.equal((await callVault(vault, "GET", "/deletedsecrets/going")).status, 200);
  });

  it("answers a 12-byte restore blob with 'Backup blob is corrupt.'", async () => {
    for (const bytes of [Buffer.from("non-existing"), Buffer.alloc(12)]) {
      assertVaultError(
        await callVault(vault, "POST", "/secrets/restore", {
          body: { value: bytes.toString("base64url") },
        }),
        400,
        "Malformed backup blob",
        "Backup blob is corrupt.",
      );
    }
    // Long enough for a header that is not a backup's: an unknown version, as recorded.
    assertVaultError(
      await callVault(vault, "POST", "/secrets/restore", {
        body: { value: Buffer.alloc(4096).toString("base64url") },
      }),
      400,
      "Malformed backup blob",
      "Backup blob contains invalid or corrupt version.",
    );
  });

  it("lists versions ordered by version id across pages, not in creation order", async () => {
    const created: string[] = [];
    const idOf = (id: string): string => id.slice(id.lastIndexOf("/") + 1);
    // Random versions: go on until the creation order differs from the version order.
    while (created.length < 4 || created.join() === [...created].sort().join()) {
      const set = await callVault(vault, "PUT", "/secrets/many", {
        body: { value: String(created.length) },
      });
      created.push(idOf(set.body.id));
    }
    const listed: string[] = [];
    let page = await callVault(vault, "GET", "/secrets/many/versions", { query: "maxresults=3" });
    for (;;) {
      listed.push(...page.body.value.map((item: { id: string }) => idOf(item.id)));
      const next: string | null = page.body.nextLink;
      if (next === null) break;
      page = await callVault(vault, "GET", next);
    }
    assert.deepEqual(listed, [...created].sort());
  });
});

describe("local vault: restore conflict window", () => {
  it("is off with restoreConflictAfterPurgeInMs: 0", async () => {
    const vault = await startLocalVault({ delayMs: 0, restoreConflictAfterPurgeInMs: 0 });
    try {
      await callVault(vault, "PUT", "/secrets/quick", { body: { value: "v" } });
      const backup = await callVault(vault, "POST", "/secrets/quick/backup");
      await callVault(vault, "DELETE", "/secrets/quick");
      await callVault(vault, "DELETE", "/deletedsecrets/quick");
      const restored = await callVault(vault, "POST", "/secrets/restore", {
        body: { value: backup.body.value },
      });
      assert.equal(restored.status, 200);
    } finally {
      await vault.close();
    }
  });
});

describe("local vault: strictAuth and nbf", () => {
  const signingKey = Buffer.alloc(32, 9);
  const auth = new VaultAuth({
    signingKey,
    tenantId: "00000000-0000-0000-0000-000000000000",
    strict: true,
    claimsChallenge: false,
  });

  function tokenWith(claims: Record<string, unknown>): string {
    const issued = auth.issue("https://vault.azure.net").token;
    const [header, payload] = issued.split(".");
    const changed = {
      ...JSON.parse(Buffer.from(payload, "base64url").toString("utf8")),
      ...claims,
    };
    const unsigned = `${header}.${Buffer.from(JSON.stringify(changed)).toString("base64url")}`;
    return `${unsigned}.${createHmac("sha256", signingKey).update(unsigned).digest("base64url")}`;
  }

  function refusal(token: string): VaultError | undefined {
    try {
      auth.check(`Bearer ${token}`);
      return undefined;
    } catch (error) {
      return error as VaultError;
    }
  }

  it("refuses a token before its nbf as it refuses an expired one", () => {
    const now = Math.floor(Date.now() / 1000);
    const early = refusal(tokenWith({ nbf: now + 3600 }));
    const expired = refusal(tokenWith({ exp: now - 10 }));
    assert.ok(early instanceof VaultError && expired instanceof VaultError);
    assert.equal(early.status, 401);
    assert.equal(early.code, expired.code);
    assert.match(early.message, /not yet valid/);
    assert.deepEqual(Object.keys(early.headers ?? {}), Object.keys(expired.headers ?? {}));
    assert.equal(refusal(tokenWith({ nbf: "soon" }))?.status, 401);
  });

  it("accepts a token whose nbf has passed, or that has none", () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal(refusal(tokenWith({ nbf: now - 60 })), undefined);
    assert.equal(refusal(tokenWith({ nbf: undefined })), undefined);
  });
});
