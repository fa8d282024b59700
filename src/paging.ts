import type { PagedAsyncIterableIterator, PageSettings } from "@azure/core-paging";
import { maxResultsLimit } from "./api/wireTypes.js";

/**
 * A page of a list operation: the items, plus the token that fetches the next page (absent on the
 * last page). Pass it to `byPage({ continuationToken })` to resume, even in another process.
 */
export type ContinuablePage<T> = T[] & {
  /** The token of the next page; absent on the last page. */
  continuationToken?: string;
};

/** Fetches one page: the first when `link` is undefined, else the page the link names. */
export type PageFetcher<T> = (
  link: string | undefined,
  maxPageSize: number | undefined,
) => Promise<{ items: T[]; nextLink?: string }>;

/** Checks `maxPageSize` before any request: the service takes 1..25. */
function checkMaxPageSize(maxPageSize: unknown): number | undefined {
  if (maxPageSize === undefined) return undefined;
  if (
    typeof maxPageSize !== "number" ||
    !Number.isInteger(maxPageSize) ||
    maxPageSize < 1 ||
    maxPageSize > maxResultsLimit
  ) {
    throw new RangeError(
      `maxPageSize must be an integer from 1 to ${maxResultsLimit}, got ${String(maxPageSize)}.`,
    );
  }
  return maxPageSize;
}

function checkContinuationToken(token: unknown): string | undefined {
  if (token === undefined) return undefined;
  if (typeof token !== "string" || token.length === 0) {
    throw new TypeError(
      "continuationToken must be a non-empty string taken from a page's continuationToken.",
    );
  }
  return token;
}

/**
 * The one paging helper every list method goes through: pages are fetched lazily, one request
 * per page, following `nextLink` through empty pages until the service says there is no more.
 * Bad arguments reject the first `next()` (of the pager or of `byPage()`), before any request.
 *
 * @param fetchPage - Fetches one page.
 * @param checkArguments - Checks the list method's own arguments; throws TypeError/RangeError.
 * @returns The pager.
 */
export function createPager<T>(
  fetchPage: PageFetcher<T>,
  checkArguments: () => void = () => undefined,
): PagedAsyncIterableIterator<T, ContinuablePage<T>, PageSettings> {
  async function* pages(settings: PageSettings): AsyncIterableIterator<ContinuablePage<T>> {
    // Checked on the first next(), as 4.x surfaces list errors, and before any request.
    checkArguments();
    const maxPageSize = checkMaxPageSize(settings.maxPageSize);
    let link = checkContinuationToken(settings.continuationToken);
    do {
      const { items, nextLink } = await fetchPage(link, maxPageSize);
      const page = items as ContinuablePage<T>;
      if (nextLink !== undefined) page.continuationToken = nextLink;
      link = nextLink;
      yield page;
    } while (link !== undefined);
  }

  async function* elements(): AsyncIterableIterator<T> {
    for await (const page of pages({})) {
      yield* page;
    }
  }

  const iterator = elements();
  return {
    next: () => iterator.next(),
    [Symbol.asyncIterator]() {
      return this;
    },
    byPage: (settings: PageSettings = {}) => pages(settings),
  };
}
