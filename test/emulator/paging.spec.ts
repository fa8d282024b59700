import assert from "node:assert/strict";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertVaultError, callVault, type Answer } from "./localVaultTestKit.js";

async function walk(vault: LocalVault, first: Answer): Promise<Answer[]> {
  const pages = [first];
  let next: string | null = first.body.nextLink;
  while (next) {
    const page = await callVault(vault, "GET", next);
    assert.equal(page.status, 200);
    pages.push(page);
    next = page.body.nextLink;
  }
  return pages;
}

function ids(pages: Answer[]): string[] {
  return pages.flatMap((p) => p.body.value.map((i: { id: string }) => i.id));
}

describe("local vault: paging", () => {
  let vault: LocalVault;
  const names = Array.from({ length: 30 }, (_, i) => `page-${String(i).padStart(2, "0")}`);

  before(async () => {
    vault = await startLocalVault({ delayMs: 0 });
    // Set in reverse so the order of the list is the vault's, not the order of creation.
    for (const name of [...names].reverse()) {
      await callVault(vault, "PUT", `/secrets/${name}`, { body: { value: "v" } });
    }
    for (let i = 0; i < 4; i++) {
      await callVault(vault, "PUT", "/secrets/page-00", { body: { value: String(i) } });
    }
  });
  after(() => vault.close());

  it("pages by 25 by default with an absolute nextLink and a null one at the end", async () => {
    const first = await callVault(vault, "GET", "/secrets");
    assert.equal(first.body.value.length, 25);
    const next = new URL(first.body.nextLink);
    assert.equal(next.origin, vault.vaultUrl);
    assert.equal(next.pathname, "/secrets");
    assert.equal(next.searchParams.get("api-version"), "7.6");
    assert.equal(next.searchParams.get("maxresults"), "25");
    assert.ok(next.searchParams.get("$skiptoken"));
    const pages = await walk(vault, first);
    assert.equal(pages.length, 2);
    assert.equal(pages[1].body.nextLink, null);
    assert.deepEqual(
      ids(pages),
      names.map((n) => `${vault.vaultUrl}/secrets/${n}`),
    );
  });

  it("honours maxresults and keeps it in nextLink", async () => {
    const first = await callVault(vault, "GET", "/secrets", { query: "maxresults=7" });
    assert.equal(first.body.value.length, 7);
    assert.equal(new URL(first.body.nextLink).searchParams.get("maxresults"), "7");
    const pages = await walk(vault, first);
    assert.deepEqual(
      pages.map((p) => p.body.value.length),
      [7, 7, 7, 7, 2],
    );
    assert.equal(ids(pages).length, 30);
  });

  it("rejects maxresults outside 1..25", async () => {
    for (const value of ["0", "26", "abc", "-1"]) {
      assertVaultError(
        await callVault(vault, "GET", "/secrets", { query: `maxresults=${value}` }),
        400,
        "BadParameter",
        `Invalid maxresults value '${value}': it must be an integer between 1 and 25.`,
      );
    }
  });

  it("rejects a skiptoken it did not make", async () => {
    assertVaultError(
      await callVault(vault, "GET", "/secrets", { query: "$skiptoken=bm9wZQ" }),
      400,
      "BadParameter",
      /\$skiptoken/,
    );
  });

  it("pages versions ordered by version id across pages (not in creation order)", async () => {
    const first = await callVault(vault, "GET", "/secrets/page-00/versions", {
      query: "maxresults=2",
    });
    const pages = await walk(vault, first);
    assert.deepEqual(
      pages.map((p) => p.body.value.length),
      [2, 2, 1],
    );
    const versionIds = ids(pages);
    assert.equal(new Set(versionIds).size, 5);
    assert.deepEqual(versionIds, [...versionIds].sort());
    const latest = await callVault(vault, "GET", "/secrets/page-00");
    assert.ok(versionIds.includes(latest.body.id));
    assert.equal(new URL(first.body.nextLink).pathname, "/secrets/page-00/versions");
  });

  it("pages deleted secrets", async () => {
    for (const name of names.slice(0, 3)) await callVault(vault, "DELETE", `/secrets/${name}`);
    const first = await callVault(vault, "GET", "/deletedsecrets", { query: "maxresults=2" });
    const pages = await walk(vault, first);
    assert.deepEqual(
      pages.flatMap((p) => p.body.value.map((i: { recoveryId: string }) => i.recoveryId)),
      names.slice(0, 3).map((n) => `${vault.vaultUrl}/deletedsecrets/${n}`),
    );
    assert.ok(
      pages.every((p) => p.body.value.every((i: { deletedDate: number }) => i.deletedDate > 0)),
    );
    assert.equal(new URL(first.body.nextLink).pathname, "/deletedsecrets");
  });

  it("inserts an empty page before each real page with emptyPages", async () => {
    const empty = await startLocalVault({ emptyPages: true });
    try {
      for (const name of ["e1", "e2", "e3"]) {
        await callVault(empty, "PUT", `/secrets/${name}`, { body: { value: "v" } });
      }
      const first = await callVault(empty, "GET", "/secrets", { query: "maxresults=2" });
      assert.deepEqual(first.body.value, []);
      assert.ok(first.body.nextLink);
      const pages = await walk(empty, first);
      assert.deepEqual(
        pages.map((p) => p.body.value.length),
        [0, 2, 0, 1],
      );
      assert.deepEqual(
        ids(pages),
        ["e1", "e2", "e3"].map((n) => `${empty.vaultUrl}/secrets/${n}`),
      );
    } finally {
      await empty.close();
    }
  });
});
