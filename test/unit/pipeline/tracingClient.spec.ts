import assert from "node:assert/strict";
import { useInstrumenter, type OperationTracingOptions } from "@azure/core-tracing";
import { isUnrecordedContext, tracingClient } from "../../../src/pipeline/tracingClient.js";
import { samplingInstrumenter, useDefaultInstrumenter } from "../../helpers/instrumenters.js";

/** The tracing options each of two nested spans hands to its operation. */
async function nestedSpans(): Promise<{
  outer: OperationTracingOptions;
  inner: OperationTracingOptions;
}> {
  const callerOptions: { tracingOptions?: OperationTracingOptions } = {};
  return tracingClient.withSpan("outer", callerOptions, (outerOptions) =>
    tracingClient.withSpan("inner", outerOptions, (innerOptions) => ({
      outer: outerOptions.tracingOptions!,
      inner: innerOptions.tracingOptions!,
    })),
  );
}

describe("tracingClient (the client spans)", function () {
  afterEach(useDefaultInstrumenter);

  it("marks the context it gives the operation of a span that is not recorded, on the context itself", async function () {
    useDefaultInstrumenter();
    const { outer, inner } = await nestedSpans();
    assert.equal(isUnrecordedContext(outer.tracingContext), true);
    assert.equal(isUnrecordedContext(inner.tracingContext), true);
    assert.equal(isUnrecordedContext(undefined), false);
  });

  it("does not mark a recorded span's context, even under a span that is not recorded", async function () {
    useInstrumenter(samplingInstrumenter((name) => name === "inner"));
    const { outer, inner } = await nestedSpans();
    assert.equal(isUnrecordedContext(outer.tracingContext), true);
    assert.equal(isUnrecordedContext(inner.tracingContext), false);
  });

  it("leaves the caller's options and context as they were", async function () {
    useDefaultInstrumenter();
    const callerOptions = { tracingOptions: {} };
    await tracingClient.withSpan("outer", callerOptions, (updated) => {
      assert.notEqual(updated, callerOptions);
    });
    assert.deepEqual(callerOptions, { tracingOptions: {} });
  });
});
