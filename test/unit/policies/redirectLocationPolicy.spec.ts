import assert from "node:assert/strict";
import { createHttpHeaders, createPipelineRequest } from "@azure/core-rest-pipeline";
import { redirectLocationPolicy } from "../../../src/policies/redirectLocationPolicy.js";

describe("redirectLocationPolicy", () => {
  const answer = (status: number, location: string) => async () => ({
    request: createPipelineRequest({ url: "https://v.vault.azure.net/secrets/a" }),
    status,
    headers: createHttpHeaders({ location }),
  });
  const request = createPipelineRequest({ url: "https://v.vault.azure.net/secrets/a" });

  for (const bad of ["http://[", "http://a:99999/"]) {
    it(`removes an unparseable Location (${bad}) from a 3xx`, async () => {
      const response = await redirectLocationPolicy().sendRequest(request, answer(302, bad));
      assert.equal(response.headers.get("location"), undefined);
    });
  }

  it("keeps a parseable Location, and any header of a non-3xx", async () => {
    const kept = await redirectLocationPolicy().sendRequest(request, answer(307, "/secrets/b"));
    assert.equal(kept.headers.get("location"), "/secrets/b");
    const other = await redirectLocationPolicy().sendRequest(request, answer(200, "http://["));
    assert.equal(other.headers.get("location"), "http://[");
  });
});
