/**
 * Instrumenters for tests of spans: core-tracing's default back, and one that records only the
 * spans it is told to. `useInstrumenter` is process-wide: a spec that sets one sets the default
 * back when it is done.
 */
import { useInstrumenter, type Instrumenter, type TracingContext } from "@azure/core-tracing";

/** Sets core-tracing's default instrumenter back (no span recorded): what a user without one has. */
export function useDefaultInstrumenter(): void {
  // core-tracing creates its default instrumenter when none is set.
  useInstrumenter(undefined as unknown as Instrumenter);
}

/** A tracing context that, like core-tracing's, is never changed: `setValue` gives a new one. */
function immutableContext(values = new Map<symbol, unknown>()): TracingContext {
  return {
    getValue: (key) => values.get(key),
    setValue: (key, value) => immutableContext(new Map(values).set(key, value)),
    deleteValue: (key) => {
      const copy = new Map(values);
      copy.delete(key);
      return immutableContext(copy);
    },
  };
}

/**
 * An instrumenter whose spans are recorded only when `isRecorded(name)` says so; it records
 * nothing itself.
 *
 * @param isRecorded - Whether the span of that name is recorded.
 * @returns The instrumenter, to pass to `useInstrumenter`.
 */
export function samplingInstrumenter(isRecorded: (spanName: string) => boolean): Instrumenter {
  return {
    startSpan: (name, spanOptions) => ({
      span: {
        end: () => {},
        setAttribute: () => {},
        setStatus: () => {},
        recordException: () => {},
        isRecording: () => isRecorded(name),
      },
      tracingContext: spanOptions.tracingContext ?? immutableContext(),
    }),
    withContext: (_context, callback, ...args) => callback(...args),
    parseTraceparentHeader: () => undefined,
    createRequestHeaders: () => ({}),
  };
}
