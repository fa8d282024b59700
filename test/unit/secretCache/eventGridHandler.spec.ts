import assert from "node:assert/strict";
import {
  createEventGridHandler,
  type EventGridHandlerOptions,
  type SecretCache,
} from "../../../src/secretCache/index.js";
import { cacheOf, FakeVault, trackCaches } from "./secretCacheKit.js";

describe("createEventGridHandler", () => {
  const track = trackCaches();

  it("returns a (req, res) listener for a SecretCache", () => {
    const handler = createEventGridHandler(track(cacheOf(new FakeVault())));
    assert.equal(typeof handler, "function");
    assert.equal(handler.length, 2);
  });

  it("refuses what is not a cache, and options of the wrong type or range, before any request", () => {
    const cache = track(cacheOf(new FakeVault()));
    for (const notCache of [undefined, null, {}, { handleEvent: 1 }]) {
      assert.throws(
        () => createEventGridHandler(notCache as unknown as SecretCache),
        (error: Error) => error instanceof TypeError && /must be a SecretCache/.test(error.message),
      );
    }
    const refused: Array<[unknown, ErrorConstructor, RegExp]> = [
      [null, TypeError, /options must be an object/],
      [{ maxBodyBytes: 0 }, RangeError, /maxBodyBytes must be a whole number of bytes from 1/],
      [{ maxBodyBytes: 1.5 }, RangeError, /maxBodyBytes/],
      [{ maxBodyBytes: 64 * 1024 * 1024 + 1 }, RangeError, /to 67108864, got 67108865/],
      [{ maxBodyBytes: "1024" }, RangeError, /maxBodyBytes/],
      [{ accessKey: "" }, TypeError, /accessKey must be a non-empty string/],
      [{ accessKey: 42 }, TypeError, /accessKey/],
      [{ onEvents: "log" }, TypeError, /onEvents must be a function, got string/],
      [{ onError: {} }, TypeError, /onError must be a function, got object/],
    ];
    for (const [options, type, message] of refused) {
      assert.throws(
        () => createEventGridHandler(cache, options as EventGridHandlerOptions),
        (error: Error) => error instanceof type && message.test(error.message),
        JSON.stringify(options),
      );
    }
  });
});
