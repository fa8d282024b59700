import { createTracingClient, type TracingClient, type TracingContext } from "@azure/core-tracing";
import { packageName, packageVersion } from "./constants.js";

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
 * client, whose `withSpan` also notes the contexts of spans that are not recorded.
 */
export const tracingClient: TracingClient = {
  ...coreTracingClient,
  withSpan(name, operationOptions, callback, spanOptions) {
    return coreTracingClient.withSpan(
      name,
      operationOptions,
      ((updatedOptions, span) => {
        const context = updatedOptions.tracingOptions?.tracingContext;
        if (context !== undefined && !span.isRecording()) unrecordedContexts.add(context);
        return callback(updatedOptions, span);
      }) as typeof callback,
      spanOptions,
    );
  },
};
