import {
  createTracingClient,
  type TracingClient,
  type TracingContext,
  type TracingSpan,
} from "@azure/core-tracing";
import { packageName, packageVersion } from "../constants.js";

/**
 * Contexts of client spans that the instrumenter does not record (no instrumenter set, or the span
 * was sampled out). Their requests' `HTTP <method>` spans would not be recorded either (a child of
 * an unsampled span is unsampled), so the tracing policy skips starting them.
 */
const unrecordedContexts = new WeakSet<TracingContext>();

/**
 * Whether `context` belongs to a client span that is not recorded.
 *
 * @param context - The tracing context a request carries.
 * @returns true when no span under it is recorded.
 */
export function isUnrecordedContext(context: TracingContext | undefined): boolean {
  return context !== undefined && unrecordedContexts.has(context);
}

const coreTracingClient = createTracingClient({
  namespace: "Microsoft.KeyVault",
  packageName,
  packageVersion,
});

/**
 * Creates the spans `SecretClient.<method>` in namespace `Microsoft.KeyVault`: core's tracing
 * client, except `withSpan`, which also notes the contexts of spans that are not recorded, and for
 * those calls the operation at once: a span that is not recorded has no status to set and nothing
 * to wait for before it ends. A recorded span gets what core's `withSpan` gives it.
 */
export const tracingClient: TracingClient = {
  ...coreTracingClient,
  withSpan: ((name, operationOptions, callback, spanOptions) => {
    const { span, updatedOptions } = coreTracingClient.startSpan(
      name,
      operationOptions,
      spanOptions,
    );
    const context = updatedOptions.tracingOptions!.tracingContext!;
    if (!span.isRecording()) {
      unrecordedContexts.add(context);
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
