import { createHook } from "node:async_hooks";

let promisesSeen = 0;
const promiseCounter = createHook({
  init(_asyncId, type) {
    if (type === "PROMISE") promisesSeen++;
  },
});

/** Promises the process makes from the call of `operation` until `await` of it returns. */
async function promisesCounted(operation: () => Promise<unknown>): Promise<number> {
  promisesSeen = 0;
  promiseCounter.enable();
  try {
    await operation();
  } finally {
    promiseCounter.disable();
  }
  return promisesSeen;
}

/** A bare promise, as the raw `node:http` loop makes one per request: 2 with its caller's await. */
const barePromise = (): Promise<void> => new Promise<void>((resolve) => resolve());
const barePromiseAwaited = 2;

/**
 * How many promises one call of `operation` makes, counted as the benchmark counts them (an
 * `async_hooks` init hook for the `PROMISE` type, bench/README.md): the caller's `await`
 * included, so that one bare promise awaited (the raw `node:http` loop) counts 2. What the
 * counting adds itself (it runs inside async functions, and a hook's first use counts one more)
 * is measured on a bare promise and taken off. Deterministic only where nothing else runs
 * meanwhile: a fake or in-memory transport.
 *
 * @param operation - Starts the work and returns its promise.
 * @returns The number of promises, the caller's await included.
 */
export async function promisesPerCall(operation: () => Promise<unknown>): Promise<number> {
  await promisesCounted(barePromise);
  const overhead = (await promisesCounted(barePromise)) - barePromiseAwaited;
  return (await promisesCounted(operation)) - overhead;
}
