import assert from "node:assert/strict";
import { RestError } from "@azure/core-rest-pipeline";
import { SecretCache, type SecretCacheClient } from "../../../src/index.js";
import { describeError } from "../../../src/secretCache/errors.js";

describe("SecretCache error texts", () => {
  it("describes an error without its final period, for the sentence around it", () => {
    const refused = new RestError(
      "Nothing is listening at http://127.0.0.1:1. Check the vault URL.",
      {
        code: "ECONNREFUSED",
      },
    );
    assert.equal(
      describeError(refused),
      "no response ECONNREFUSED: Nothing is listening at http://127.0.0.1:1. Check the vault URL",
    );
    assert.equal(describeError(new Error("wait...")), "Error: wait...");
  });

  it("says a failed listing in one sentence, without a double period", async () => {
    const client: SecretCacheClient = {
      listPropertiesOfSecrets: () => ({
        byPage: () => ({
          next: () =>
            Promise.reject(
              new RestError("The host v.invalid was not found. Check the host name.", {
                code: "ENOTFOUND",
              }),
            ),
          [Symbol.asyncIterator]() {
            return this;
          },
        }),
      }),
      getSecret: () => Promise.reject(new Error("not called")),
    };
    const cache = new SecretCache(client);
    await assert.rejects(cache.load(), (error: Error) => {
      assert.doesNotMatch(error.message, /\.\./, error.message);
      assert.match(error.message, /Check the host name\./);
      return true;
    });
    cache.close();
  });
});
