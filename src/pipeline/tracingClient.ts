/**
 * The client spans (`SecretClient.<method>`): core-tracing's tracing client with its `withSpan`
 * re-done, so that a span that is not recorded costs no promise and tells the tracing policy
 * (tracingPolicy.ts) so, on the tracing context the request carries.
 */
import {
  createTracingClient,
  type TracingClient,
  type TracingContext,
  type TracingSpan,
} from "@azure/core-tracing";
import { packageName, packageVersion } from "../constants.js";

/**
 * The key of the value, on a client span's tracing context, that says whether the span is
 * recorded. Set by {@link tracingClient}'s `withSpan` on the context it hands to the operation
 * (which puts it on each request's `tracingOptions`); read by the tracing policy. Data on the
 * request, not state: two clients, or two copies of this package, cannot see each other's.
 */
const unrecordedSpanKey = Symbol("keyvault-secrets unrecorded client span");

/**
 * Whether `context` belongs to a client span that is not recorded (no instrumenter set, or the
 * span was sampled out): then no span under it is recorded either (a child of an unsampled span
 * is unsampled), and the tracing policy starts none.
 *
 * @param context - The tracing context a request carries.
 * @returns true when the context is that of a client span that is not recorded.
 */
export function isUnrecordedContext(context: TracingContext | undefined): boolean {
  return context?.getValue(unrecordedSpanKey) === true;
}

const coreTracingClient = createTracingClient({
  namespace: "Microsoft.KeyVault",
  packageName,
  packageVersion,
});

/**
 * Creates the spans `SecretClient.<method>` in namespace `Microsoft.KeyVault`: core's tracing
 * client, except `withSpan`. Mirrors core-tracing's `withSpan` (start the span, run the operation
 * in its context, set the status `success` or `error`, end the span) with two differences: the
 * context given to the operation says whether the span is recorded (see
 * {@link isUnrecordedContext}), and for a span that is not recorded the operation is called at
 * once: such a span has no status to set and nothing to wait for before it ends.
 */
export const tracingClient: TracingClient = {
  ...coreTracingClient,
  withSpan: ((name, operationOptions, callback, spanOptions) => {
    const started = coreTracingClient.startSpan(name, operationOptions, spanOptions);
    const { span } = started;
    const recorded = span.isRecording();
    let updatedOptions = started.updatedOptions;
    let context = updatedOptions.tracingOptions!.tracingContext!;
    // A recorded span under an unrecorded one (a custom sampler) must not inherit the mark.
    if (!recorded || isUnrecordedContext(context)) {
      context = context.setValue(unrecordedSpanKey, !recorded);
      updatedOptions = {
        ...updatedOptions,
        tracingOptions: { ...updatedOptions.tracingOptions, tracingContext: context },
      };
    }
    if (!recorded) {
      span.end();
      try {
        return Promise.resolve(
          coreTracingClient.withContext(context, callback, updatedOptions, span),
        );
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return withRecordedSpan(span, context, () => callback(updatedOptions, span));
  }) as TracingClient["withSpan"],
};

async function withRecordedSpan<T>(
  span: TracingSpan,
  context: TracingContext,
  operation: () => T,
): Promise<Awaited<T>> {
  try {
    const result = await coreTracingClient.withContext(context, operation);
    span.setStatus({ status: "success" });
    return result;
  } catch (error) {
    span.setStatus({ status: "error", error: error as Error });
    throw error;
  } finally {
    span.end();
  }
}
