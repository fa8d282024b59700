/**
 * The throttling hand-off: how a caller that shares one backoff among many requests (SecretCache)
 * asks a client to give each 429 back at once instead of retrying it on its own, where every
 * worker retrying alone would multiply the throttled requests. It is data that travels with the
 * request: an option of the operation (`getSecret`, `listPropertiesOfSecrets`), which this
 * package's `SecretClient` copies onto the pipeline request, where its retry policy reads it.
 * Other failures are retried as usual.
 *
 * A client that does not know the option (Microsoft's 4.x `SecretClient`, a fake) ignores it; the
 * 429s it finally gives back carry no such request, which is how the caller tells.
 */
import { isRecord } from "./guards.js";

/**
 * The key of the option, and of the mark on the request. `Symbol.for`: the ES module and CommonJS
 * builds of this package are two copies of this module, and a SecretCache of one may be given a
 * SecretClient of the other.
 */
export const throttlingHandOffKey: unique symbol = Symbol.for("keyvault-secrets.throttlingHandOff");

/** Operation options, or a pipeline request, that may ask for the hand-off. */
export interface ThrottlingHandOff {
  /** true: give a 429 back at once, without the client's own retries. */
  [throttlingHandOffKey]?: boolean;
}

/**
 * Whether operation options, or a request, ask for the hand-off.
 *
 * @param carrier - Operation options or a pipeline request.
 * @returns true when they carry the ask.
 */
export function asksForThrottlingHandOff(carrier: object | undefined): boolean {
  return (carrier as ThrottlingHandOff | undefined)?.[throttlingHandOffKey] === true;
}

/**
 * Copies the ask from an operation's options onto the request the pipeline sends.
 *
 * @param options - The operation's options.
 * @param request - The request built from them.
 */
export function passOnThrottlingHandOff(options: object, request: object): void {
  if (asksForThrottlingHandOff(options)) {
    (request as ThrottlingHandOff)[throttlingHandOffKey] = true;
  }
}

/**
 * Whether a 429 error came from a client that took the hand-off: the request it carries asked for
 * it (this package's `SecretClient` keeps the request on its errors, as core's `RestError` does).
 *
 * @param error - The error of a throttled request.
 * @returns false for a client that knows nothing of the hand-off, and may have retried first.
 */
export function wasHandedOff(error: unknown): boolean {
  return isRecord(error) && isRecord(error.request) && asksForThrottlingHandOff(error.request);
}
