import assert from "node:assert/strict";
import { type SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { collect, localClient, requestLog } from "./integrationTestKit.js";

const names = ["page-a", "page-b", "page-c", "page-d", "page-e", "page-f", "page-g"];

describe("integration: paging over HTTP", () => {
  let vault: LocalVault;
  let client: SecretClient;

  before(async () => {
    vault = await startLocalVault({ delayMs: 30 });
    client = localClient(vault);
  });
  beforeEach(async () => {
    vault.reset();
    for (const name of names) await client.setSecret(name, `value of ${name}`);
  });
  after(async () => {
    client.close();
    await vault.close();
  });

  it("lists every secret once, by base id, with the latest version's properties", async () => {
    await client.setSecret("page-c", "newer", { tags: { latest: "yes" } });
    const listed = await collect(client.listPropertiesOfSecrets());
    assert.deepEqual(listed.map((s) => s.name).sort(), names);
    for (const properties of listed) {
      assert.equal(properties.id, `${vault.vaultUrl}/secrets/${properties.name}`);
      assert.equal(properties.version, undefined);
      assert.equal((properties as { value?: string }).value, undefined);
      assert.equal(properties.enabled, true);
    }
    assert.deepEqual(listed.find((s) => s.name === "page-c")?.tags, { latest: "yes" });
  });

  it("pages by maxPageSize 2 with a continuation token on every page but the last", async () => {
    const log = requestLog("perCall");
    const logged = localClient(vault, { additionalPolicies: [log.config] });
    const pages = await collect(logged.listPropertiesOfSecrets().byPage({ maxPageSize: 2 }));
    assert.deepEqual(
      pages.map((p) => p.length),
      [2, 2, 2, 1],
    );
    assert.deepEqual(
      pages
        .flat()
        .map((s) => s.name)
        .sort(),
      names,
    );
    for (const page of pages.slice(0, -1)) {
      assert.equal(typeof page.continuationToken, "string");
      const link = new URL(page.continuationToken ?? "");
      assert.equal(link.origin, vault.vaultUrl);
      assert.equal(link.searchParams.get("maxresults"), "2");
    }
    assert.equal(pages[pages.length - 1].continuationToken, undefined);
    assert.equal(log.matching("GET", "/secrets").length, 4, "one request per page");
    logged.close();
  });

  it("resumes from a continuation token in a new client", async () => {
    const pages = await collect(client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 }));
    const token = pages[1].continuationToken;
    assert.ok(token);
    const other = localClient(vault);
    const rest = await collect(
      other.listPropertiesOfSecrets().byPage({ continuationToken: token, maxPageSize: 2 }),
    );
    assert.deepEqual(
      rest.map((p) => p.map((s) => s.name)),
      pages.slice(2).map((p) => p.map((s) => s.name)),
    );
    assert.equal(rest[rest.length - 1].continuationToken, undefined);
    other.close();
  });

  it("pages the versions of a secret", async () => {
    const versions = [];
    for (let i = 0; i < 4; i++)
      versions.push((await client.setSecret("page-a", `v${i}`)).properties);
    const pages = await collect(
      client.listPropertiesOfSecretVersions("page-a").byPage({ maxPageSize: 2 }),
    );
    assert.deepEqual(
      pages.map((p) => p.length),
      [2, 2, 1],
    );
    const listed = pages.flat();
    assert.equal(new Set(listed.map((v) => v.version)).size, 5);
    for (const v of versions)
      assert.ok(listed.some((l) => l.version === v.version && l.id === v.id));
    assert.ok(pages[0].continuationToken && pages[1].continuationToken);
    assert.equal(pages[2].continuationToken, undefined);
  });

  it("pages the deleted secrets", async () => {
    for (const name of names.slice(0, 3)) {
      await (await client.beginDeleteSecret(name, { intervalInMs: 10 })).pollUntilDone();
    }
    const pages = await collect(client.listDeletedSecrets().byPage({ maxPageSize: 2 }));
    assert.deepEqual(
      pages.map((p) => p.length),
      [2, 1],
    );
    assert.deepEqual(
      pages
        .flat()
        .map((d) => d.name)
        .sort(),
      names.slice(0, 3),
    );
    assert.ok(pages.flat().every((d) => d.recoveryId && d.deletedOn && d.scheduledPurgeDate));
  });
});

describe("integration: paging through empty pages (emptyPages: true)", () => {
  let vault: LocalVault;
  let client: SecretClient;

  before(async () => {
    vault = await startLocalVault({ delayMs: 30, emptyPages: true });
    client = localClient(vault);
    for (const name of names.slice(0, 5)) await client.setSecret(name, "v");
  });
  after(async () => {
    client.close();
    await vault.close();
  });

  it("delivers every item when pages are empty but carry a nextLink", async () => {
    const listed = await collect(client.listPropertiesOfSecrets());
    assert.deepEqual(listed.map((s) => s.name).sort(), names.slice(0, 5));
  });

  it("shows the empty pages through byPage, with tokens on all but the last", async () => {
    const pages = await collect(client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 }));
    const sizes = pages.map((p) => p.length);
    assert.ok(sizes.includes(0), `page sizes: ${sizes.join(",")}`);
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      5,
    );
    assert.ok(sizes.every((s) => s <= 2));
    assert.deepEqual(
      pages
        .flat()
        .map((s) => s.name)
        .sort(),
      names.slice(0, 5),
    );
    for (const page of pages.slice(0, -1)) assert.equal(typeof page.continuationToken, "string");
    assert.equal(pages[pages.length - 1].continuationToken, undefined);
  });

  it("resumes from the token of an empty page", async () => {
    const pages = await collect(client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 }));
    const emptyIndex = pages.findIndex((p) => p.length === 0);
    const token = pages[emptyIndex].continuationToken;
    assert.ok(token);
    const rest = await collect(
      client.listPropertiesOfSecrets().byPage({ continuationToken: token, maxPageSize: 2 }),
    );
    assert.deepEqual(
      rest.flat().map((s) => s.name),
      pages
        .slice(emptyIndex + 1)
        .flat()
        .map((s) => s.name),
    );
  });

  it("delivers versions and deleted secrets through empty pages too", async () => {
    for (let i = 0; i < 2; i++) await client.setSecret("page-a", `more ${i}`);
    const versions = await collect(client.listPropertiesOfSecretVersions("page-a"));
    assert.equal(versions.length, 3);
    await (await client.beginDeleteSecret("page-e", { intervalInMs: 10 })).pollUntilDone();
    const deleted = await collect(client.listDeletedSecrets());
    assert.deepEqual(
      deleted.map((d) => d.name),
      ["page-e"],
    );
  });
});
