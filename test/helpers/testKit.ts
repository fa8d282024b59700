/**
 * The one test kit: small helpers every kind of test uses. Area kits (the local vault's, the
 * integration specs', the reliability specs') build on it and re-export what they use.
 */
import { randomBytes } from "node:crypto";

/**
 * A name no other test uses: the prefix, a dash and eight hex digits (letters, digits and dashes
 * only, so it is a valid secret name).
 * @param prefix - readable part
 * @returns the name
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/**
 * Waits a few milliseconds (for the short delays the local vault is configured with; never a
 * timed assertion).
 * @param ms - milliseconds
 * @returns after `ms`
 */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Collects an async iterable.
 * @param iterable - the iterable
 * @returns its items
 */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/**
 * A small seeded generator (mulberry32), so that a run's random choices are the same every time.
 * @param seed - any integer
 * @returns numbers in [0, 1)
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
