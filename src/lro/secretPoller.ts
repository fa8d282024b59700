import { AbortError } from "@azure/abort-controller";
import type { AbortSignalLike } from "@azure/abort-controller";
import { Poller } from "@azure/core-lro";
import { delay } from "@azure/core-util";
import type { PollOperation, PollOperationState, PollerLike } from "@azure/core-lro";
import { RestError } from "@azure/core-rest-pipeline";
import type { OperationOptions, SecretPollerOptions } from "../models.js";
import { isRecord } from "../util/guards.js";
import { maxTimerDelayInMs } from "../util/limits.js";

/** The default of {@link SecretPollerOptions.intervalInMs}. */
export const defaultPollIntervalInMs = 2000;

/**
 * The state of a secret long-running operation, as `getOperationState()` returns it and as
 * `toString()` serializes it (`JSON.stringify({ state })`, the format of Microsoft's 4.x secrets client).
 */
export interface SecretPollOperationState<TResult> extends PollOperationState<TResult> {
  /** The name of the secret the operation acts on. */
  name: string;
}

/** What the initial request of an operation produced. */
export interface SecretOperationStart<TResult> {
  /** The result so far: what `getResult()` returns until a poll finds the final one. */
  result: TResult;
  /** True when the operation needs no polling (it finished with the initial request). */
  isCompleted: boolean;
  /**
   * False when nothing had to be started (a recover of a secret that is not deleted): as in 4.x,
   * the state then says `isCompleted` without `isStarted`.
   * @default true
   */
  isStarted?: boolean;
}

/**
 * The part of a long-running operation that differs between delete and recover: how to start it,
 * how to poll it, and what its result looks like. The poller does the rest: a poll that rejects
 * with status 404 means "still running", 403 means "done, keep the result so far", any other error
 * fails the operation.
 */
export interface SecretOperationDefinition<TResult> {
  /** Names the operation in error messages, e.g. `"delete secret"`. */
  kind: string;
  /** The message `cancelOperation()` rejects with (the service cannot cancel these operations). */
  cancelMessage: string;
  /**
   * Sends the initial request.
   * @param name - The name of the secret.
   * @param options - The caller's operation options, with the abort signal in effect.
   * @returns The result of the initial request and whether the operation is already done.
   */
  start(name: string, options: OperationOptions): Promise<SecretOperationStart<TResult>>;
  /**
   * Reads the resource whose appearance ends the operation.
   * @param name - The name of the secret.
   * @param options - The caller's operation options, with the abort signal in effect.
   * @returns The final result; rejects with a 404 `RestError` while the operation runs.
   */
  poll(name: string, options: OperationOptions): Promise<TResult>;
  /**
   * Tells whether a result read back from `resumeFrom` has the shape of this operation's result.
   * @param value - The parsed result (dates already revived).
   * @returns True when it can be used as this operation's result.
   */
  isResult(value: Record<string, unknown>): boolean;
}

/** The fields of a result (and of its `properties`) that hold dates; JSON turns them into strings. */
const dateFields = new Set([
  "createdOn",
  "updatedOn",
  "notBefore",
  "expiresOn",
  "deletedOn",
  "scheduledPurgeDate",
]);

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

function statusCodeOf(error: unknown): number | undefined {
  const statusCode = isRecord(error) ? error["statusCode"] : undefined;
  return typeof statusCode === "number" ? statusCode : undefined;
}

function reviveDates(value: Record<string, unknown>): Record<string, unknown> {
  const revived: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (dateFields.has(key) && typeof field === "string") {
      const date = new Date(field);
      revived[key] = Number.isNaN(date.getTime()) ? field : date;
    } else if (key === "properties" && isRecord(field)) {
      revived[key] = reviveDates(field);
    } else {
      revived[key] = field;
    }
  }
  return revived;
}

/** The serialized form of an error: what identifies it, never the request or response it carries. */
function serializeError(error: Error): Record<string, unknown> {
  const serialized: Record<string, unknown> = { name: error.name, message: error.message };
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === "string") serialized["code"] = code;
  if (typeof statusCode === "number") serialized["statusCode"] = statusCode;
  return serialized;
}

function reviveError(value: Record<string, unknown>): Error {
  const message = typeof value["message"] === "string" ? value["message"] : "The operation failed.";
  const code = typeof value["code"] === "string" ? value["code"] : undefined;
  const statusCode = typeof value["statusCode"] === "number" ? value["statusCode"] : undefined;
  const error =
    code !== undefined || statusCode !== undefined
      ? new RestError(message, { code, statusCode })
      : new Error(message);
  if (typeof value["name"] === "string") error.name = value["name"];
  return error;
}

/**
 * Reads the state out of the `toString()` of an earlier poller, checking everything before any
 * request is sent.
 */
function parseResumeFrom<TResult>(
  definition: SecretOperationDefinition<TResult>,
  name: string,
  resumeFrom: unknown,
): SecretPollOperationState<TResult> {
  const invalid = (reason: string): TypeError =>
    new TypeError(
      `resumeFrom is not the toString() of a ${definition.kind} poller: ${reason}. ` +
        `Pass the string that poller.toString() returned, unchanged.`,
    );
  if (typeof resumeFrom !== "string") {
    throw invalid("it is not a string");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(resumeFrom);
  } catch {
    throw invalid("it is not JSON");
  }
  const saved = isRecord(parsed) ? parsed["state"] : undefined;
  if (!isRecord(saved)) {
    throw invalid('it has no "state" object');
  }
  // A 4.x recover poller that found the secret already there is completed without being started.
  if (saved["isStarted"] !== true && saved["isCompleted"] !== true) {
    throw invalid("its operation was never started");
  }
  if (saved["name"] !== undefined && saved["name"] !== name) {
    throw new TypeError(
      `resumeFrom describes the secret "${String(saved["name"])}", not "${name}". ` +
        `Resume with the name of the secret the earlier poller acted on.`,
    );
  }
  if (saved["isCompleted"] !== undefined && typeof saved["isCompleted"] !== "boolean") {
    throw invalid('its "isCompleted" is not a boolean');
  }
  const state: SecretPollOperationState<TResult> = { name };
  if (saved["isStarted"] === true) state.isStarted = true;
  if (saved["isCompleted"] === true) state.isCompleted = true;
  if (saved["result"] !== undefined) {
    const result = isRecord(saved["result"]) ? reviveDates(saved["result"]) : undefined;
    if (result === undefined || !definition.isResult(result)) {
      throw invalid(`its "result" is not the result of a ${definition.kind} operation`);
    }
    state.result = result as TResult;
  }
  if (saved["error"] !== undefined) {
    if (!isRecord(saved["error"])) {
      throw invalid('its "error" is not an object');
    }
    state.error = reviveError(saved["error"]);
  }
  return state;
}

/**
 * One signal that aborts when any of the given ones does, and a function that detaches it from
 * them once the request it guards has settled.
 */
function anyAbortSignal(signals: Array<AbortSignalLike | undefined>): {
  signal: AbortSignalLike | undefined;
  dispose: () => void;
} {
  const distinct = [...new Set(signals.filter((s): s is AbortSignalLike => s !== undefined))];
  if (distinct.length <= 1) {
    return { signal: distinct[0], dispose: () => undefined };
  }
  const controller = new AbortController();
  // The first signal to abort lends its reason, which the AbortError keeps as its cause.
  const onAbort = (): void => controller.abort(abortReason(distinct));
  for (const signal of distinct) {
    if (signal.aborted) controller.abort(abortReason(distinct));
    else signal.addEventListener("abort", onAbort);
  }
  return {
    signal: controller.signal,
    dispose: () => distinct.forEach((signal) => signal.removeEventListener("abort", onAbort)),
  };
}

// AbortSignalLike does not declare `reason`; real AbortSignals carry one.
function abortReason(signals: Array<AbortSignalLike | undefined>): unknown {
  const aborted = signals.find((signal) => signal?.aborted) as { reason?: unknown } | undefined;
  return aborted?.reason;
}

/** An AbortError that keeps the reason of the signal that aborted as its `cause`. */
function abortError(signals: Array<AbortSignalLike | undefined>): AbortError {
  const error = new AbortError("The operation was aborted.");
  const reason = abortReason(signals);
  if (reason !== undefined) error.cause = reason;
  return error;
}

/** The operation the core-lro `Poller` drives: one `update()` = the initial request and/or one poll. */
class SecretPollOperation<TResult> implements PollOperation<
  SecretPollOperationState<TResult>,
  TResult
> {
  constructor(
    public state: SecretPollOperationState<TResult>,
    private readonly definition: SecretOperationDefinition<TResult>,
    private readonly operationOptions: OperationOptions,
  ) {}

  async update(
    options: {
      abortSignal?: AbortSignalLike;
      fireProgress?: (state: SecretPollOperationState<TResult>) => void;
    } = {},
  ): Promise<SecretPollOperation<TResult>> {
    const state = this.state;
    const { signal, dispose } = anyAbortSignal([
      this.operationOptions.abortSignal,
      options.abortSignal,
    ]);
    try {
      // An aborted signal is left to the request, as in 4.x: its span is recorded and the
      // pipeline rejects with core's AbortError.
      const requestOptions: OperationOptions = { ...this.operationOptions };
      if (signal) requestOptions.abortSignal = signal;
      else delete requestOptions.abortSignal;

      if (!state.isStarted && !state.isCompleted) {
        const started = await this.definition.start(state.name, requestOptions);
        if (started.isStarted !== false) state.isStarted = true;
        state.result = started.result;
        if (started.isCompleted) state.isCompleted = true;
      }
      if (!state.isCompleted) {
        try {
          state.result = await this.definition.poll(state.name, requestOptions);
          state.isCompleted = true;
        } catch (error: unknown) {
          const statusCode = statusCodeOf(error);
          if (statusCode === 403) {
            // The caller may start the operation but not read its outcome: it is done, and the
            // result of the initial request is all there is.
            state.isCompleted = true;
          } else if (statusCode !== 404) {
            // An abort is the caller's choice, not a failure of the operation: the state stays
            // resumable. Anything else fails the operation, as in 4.x.
            if (!isAbortError(error)) {
              state.error = error instanceof Error ? error : new Error(String(error));
              state.isCompleted = true;
              options.fireProgress?.({ ...state });
            }
            throw error;
          }
        }
      }
    } finally {
      dispose();
    }
    options.fireProgress?.({ ...state });
    return this;
  }

  async cancel(): Promise<SecretPollOperation<TResult>> {
    throw new Error(this.definition.cancelMessage);
  }

  toString(): string {
    const { name, isStarted, isCompleted, isCancelled, result, error } = this.state;
    let serializedResult: unknown = result;
    if (isRecord(result) && "value" in result) {
      // A serialized poller is meant to be stored; a secret value has no place in it.
      const { value: _value, ...rest } = result;
      serializedResult = rest;
    }
    return JSON.stringify({
      state: {
        name,
        isStarted,
        isCompleted,
        isCancelled,
        result: serializedResult,
        error: error ? serializeError(error) : undefined,
      },
    });
  }
}

/**
 * The core-lro 2.x `Poller` for secret operations, with an abortable wait between polls: the
 * signal given to `pollUntilDone()` (and the one given to the `begin` method) ends the wait at once.
 */
class SecretPoller<TResult> extends Poller<SecretPollOperationState<TResult>, TResult> {
  private pollingSignal: AbortSignalLike | undefined;
  private endWait: (() => void) | undefined;

  constructor(
    operation: SecretPollOperation<TResult>,
    private readonly intervalInMs: number,
    private readonly operationSignal: AbortSignalLike | undefined,
  ) {
    super(operation);
  }

  override pollUntilDone(pollOptions: { abortSignal?: AbortSignalLike } = {}): Promise<TResult> {
    // core-lro starts a polling loop only when the poller is stopped; only that loop's signal
    // governs the waits, so keep it only then.
    if (this.isStopped()) {
      this.pollingSignal = pollOptions.abortSignal;
    }
    return super.pollUntilDone(pollOptions);
  }

  override stopPolling(): void {
    super.stopPolling();
    this.endWait?.();
  }

  protected override async delay(): Promise<void> {
    // core-lro waits once more after the last poll; skip it so no timer outlives the operation.
    if (this.isDone() || this.isStopped()) return;
    const stop = new AbortController();
    this.endWait = () => stop.abort();
    const { signal, dispose } = anyAbortSignal([
      this.operationSignal,
      this.pollingSignal,
      stop.signal,
    ]);
    try {
      await delay(this.intervalInMs, {
        abortSignal: signal,
        abortErrorMsg: abortError([]).message,
      });
    } catch (error) {
      // stopPolling() ends the wait quietly; the caller's signal ends it with an AbortError that
      // keeps the signal's reason.
      if (!stop.signal.aborted) {
        const reason = abortReason([this.operationSignal, this.pollingSignal]);
        if (error instanceof Error && error.cause === undefined && reason !== undefined) {
          error.cause = reason;
        }
        throw error;
      }
    } finally {
      dispose();
      this.endWait = undefined;
    }
  }
}

/**
 * Creates the poller of a secret long-running operation and, as Microsoft's 4.x secrets client
 * does, polls once before returning: the initial request has been sent (unless resuming) and
 * `getResult()` holds its result.
 *
 * @param definition - How to start and poll the operation.
 * @param name - The name of the secret.
 * @param options - The caller's options: `intervalInMs` and `resumeFrom` shape the poller; the
 *   rest (`abortSignal`, `requestOptions`, `tracingOptions`, `onResponse`) go to every request.
 * @returns The poller, after its first poll.
 * @throws TypeError when `resumeFrom` is not the `toString()` of a poller of the same operation on
 *   the same secret; RangeError when `intervalInMs` is not a number of milliseconds. Both before
 *   any request.
 *
 * @example
 * ```ts
 * const poller = await beginSecretPoller(definition, "my-secret", { intervalInMs: 500 });
 * const result = await poller.pollUntilDone();
 * ```
 */
export async function beginSecretPoller<TResult>(
  definition: SecretOperationDefinition<TResult>,
  name: string,
  options: SecretPollerOptions = {},
): Promise<PollerLike<PollOperationState<TResult>, TResult>> {
  const { intervalInMs = defaultPollIntervalInMs, resumeFrom, ...operationOptions } = options;
  if (
    typeof intervalInMs !== "number" ||
    !Number.isFinite(intervalInMs) ||
    intervalInMs < 0 ||
    intervalInMs > maxTimerDelayInMs
  ) {
    throw new RangeError(
      `intervalInMs must be a number of milliseconds from 0 to ${maxTimerDelayInMs}; got ${String(intervalInMs)}.`,
    );
  }
  const state = resumeFrom === undefined ? { name } : parseResumeFrom(definition, name, resumeFrom);
  const poller = new SecretPoller(
    new SecretPollOperation(state, definition, operationOptions),
    intervalInMs,
    operationOptions.abortSignal,
  );
  // A resumed operation that already ended has nothing to send; its outcome (result or error)
  // comes from pollUntilDone().
  if (!poller.isDone()) {
    await poller.poll();
  }
  return poller;
}
