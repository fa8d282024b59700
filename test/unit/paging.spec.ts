import assert from "node:assert/strict";
import { createPager } from "../../src/paging.js";

type Call = { link: string | undefined; maxPageSize: number | undefined };

function fakeService(pages: Array<{ items: number[]; nextLink?: string }>) {
  const calls: Call[] = [];
  const byLink = new Map<string | undefined, { items: number[]; nextLink?: string }>();
  pages.forEach((page, index) => byLink.set(index === 0 ? undefined : `link-${index}`, page));
  const fetchPage = async (link: string | undefined, maxPageSize: number | undefined) => {
    calls.push({ link, maxPageSize });
    const page = byLink.get(link);
    if (!page) throw new Error(`unexpected link ${String(link)}`);
    return { items: [...page.items], ...(page.nextLink ? { nextLink: page.nextLink } : {}) };
  };
  return { calls, fetchPage };
}

describe("createPager", () => {
  const threePages = [
    { items: [1, 2], nextLink: "link-1" },
    { items: [], nextLink: "link-2" },
    { items: [3] },
  ];

  it("iterates every item across pages, following empty pages", async () => {
    const { calls, fetchPage } = fakeService(threePages);
    const items: number[] = [];
    for await (const item of createPager(fetchPage)) items.push(item);
    assert.deepEqual(items, [1, 2, 3]);
    assert.deepEqual(
      calls.map((c) => c.link),
      [undefined, "link-1", "link-2"],
    );
  });

  it("fetches lazily: nothing before the first next(), one page at a time", async () => {
    const { calls, fetchPage } = fakeService(threePages);
    const pager = createPager(fetchPage);
    assert.equal(calls.length, 0);
    assert.deepEqual(await pager.next(), { value: 1, done: false });
    assert.equal(calls.length, 1);
  });

  it("gives every page but the last a continuation token", async () => {
    const { fetchPage } = fakeService(threePages);
    const pages = [];
    for await (const page of createPager(fetchPage).byPage()) pages.push(page);
    assert.deepEqual(
      pages.map((p) => [...p]),
      [[1, 2], [], [3]],
    );
    assert.deepEqual(
      pages.map((p) => p.continuationToken),
      ["link-1", "link-2", undefined],
    );
  });

  it("resumes from a continuation token without fetching the first page", async () => {
    const { calls, fetchPage } = fakeService(threePages);
    const pages = [];
    for await (const page of createPager(fetchPage).byPage({ continuationToken: "link-2" })) {
      pages.push([...page]);
    }
    assert.deepEqual(pages, [[3]]);
    assert.deepEqual(
      calls.map((c) => c.link),
      ["link-2"],
    );
  });

  it("passes maxPageSize to every page fetch", async () => {
    const { calls, fetchPage } = fakeService(threePages);
    for await (const _page of createPager(fetchPage).byPage({ maxPageSize: 2 })) {
      // drain
    }
    assert.deepEqual(
      calls.map((c) => c.maxPageSize),
      [2, 2, 2],
    );
  });

  for (const bad of [0, 26, 1.5, -1, Number.NaN, "5"]) {
    it(`rejects maxPageSize ${String(bad)} with a RangeError on the first next(), before any request`, async () => {
      const { calls, fetchPage } = fakeService(threePages);
      // As 4.x: byPage() itself does not throw; its first next() rejects.
      const pages = createPager(fetchPage).byPage({ maxPageSize: bad as number });
      await assert.rejects(
        pages.next(),
        (error: unknown) => error instanceof RangeError && /1 to 25/.test(error.message),
      );
      assert.equal(calls.length, 0);
    });
  }

  it("rejects an empty continuation token with a TypeError on the first next()", async () => {
    const { fetchPage } = fakeService(threePages);
    const pages = createPager(fetchPage).byPage({ continuationToken: "" });
    await assert.rejects(pages.next(), TypeError);
  });

  it("checks the list method's arguments on the first next() of the pager and of byPage()", async () => {
    const { calls, fetchPage } = fakeService(threePages);
    const bad = (): void => {
      throw new TypeError("secretName must be a non-empty string");
    };
    const pager = createPager(fetchPage, bad);
    await assert.rejects(pager.next(), TypeError);
    await assert.rejects(createPager(fetchPage, bad).byPage().next(), TypeError);
    assert.equal(calls.length, 0);
  });

  it("propagates a page error to the iterating caller", async () => {
    const pager = createPager<number>(async () => {
      throw new Error("boom");
    });
    await assert.rejects(pager.next(), /boom/);
  });
});
