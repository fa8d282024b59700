/**
 * The floors the SecretCache benchmark judges against: the least time any loader could take, from
 * the vault's fixed-window throttle and the round trip, never from an average rate.
 *
 * - The listing is a chain: page n+1 is named by page n's nextLink, so `pages` round trips one
 *   after the other are the least any loader needs, however many requests it sends at once.
 * - The throttle admits `limit` requests per fixed window of `windowMs`, counted from the window's
 *   first request. A run starts in a fresh window, so `requests` over `limit` cannot all be
 *   answered before `ceil(requests / limit) - 1` windows have passed, plus at least one round trip
 *   in the last window.
 *
 * The floor is the larger of the two. An average rate (limit / window) is no floor: a fresh window
 * admits its whole limit at once, so 1,040 requests finish far under 1,040 / 400 per second.
 *
 * Two costs above the window floor are out of any loader's hands, and the benchmark shows them
 * rather than hide them in the floor: `Retry-After` counts whole seconds, rounded up, so a loader
 * that honours it resumes up to a second after the window reopens (how much depends on when the
 * window's last admitted request fell: the timelines give the earliest allowed time), and the
 * requests the first window could not take still need the vault's time once it reopens.
 */

/** The throttle of the vault: `limit` requests per fixed window. */
export interface WindowModel {
  limit: number;
  windowMs: number;
}

/**
 * The least time of a chain of round trips.
 *
 * @param pages - list pages, each named by the previous one
 * @param roundTripMs - one request's round trip
 * @returns milliseconds
 */
export function chainFloorMs(pages: number, roundTripMs: number): number {
  return pages * roundTripMs;
}

/**
 * The least time to get `requests` answered under a fixed-window throttle that starts fresh.
 *
 * @param requests - requests every instance together must get answered
 * @param model - the throttle
 * @param roundTripMs - one request's round trip
 * @returns milliseconds
 */
export function windowFloorMs(requests: number, model: WindowModel, roundTripMs: number): number {
  const windows = Math.ceil(requests / model.limit);
  return windows <= 1 ? roundTripMs : (windows - 1) * model.windowMs + roundTripMs;
}

/**
 * The floor of a load: the chain of list pages or the throttle windows, whichever is longer.
 *
 * @param figures - pages per instance, requests of every instance, round trip, throttle (if any)
 * @returns milliseconds
 */
export function loadFloorMs(figures: {
  pages: number;
  requests: number;
  roundTripMs: number;
  throttle?: WindowModel;
}): number {
  const chain = chainFloorMs(figures.pages, figures.roundTripMs);
  if (figures.throttle === undefined) return chain;
  return Math.max(chain, windowFloorMs(figures.requests, figures.throttle, figures.roundTripMs));
}
