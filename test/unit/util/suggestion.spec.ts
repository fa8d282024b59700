import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import {
  closestMatch,
  parseArgsErrorMessage,
  unknownOptionMessage,
} from "../../../src/util/suggestion.js";

const runFlags = ["vault", "prefix", "names", "tag", "env-prefix", "strip-prefix", "allow-missing"];

describe("closestMatch", () => {
  it("finds the flag meant by a letter left out, added, changed or two swapped", () => {
    assert.equal(closestMatch("prefx", runFlags), "prefix");
    assert.equal(closestMatch("prefixx", runFlags), "prefix");
    assert.equal(closestMatch("nmaes", runFlags), "names");
    assert.equal(closestMatch("tga", runFlags), "tag");
    assert.equal(closestMatch("allow-mising", runFlags), "allow-missing");
    assert.equal(closestMatch("PREFIX", runFlags), "prefix", "case does not count");
  });

  it("prefers the closest of several candidates", () => {
    assert.equal(closestMatch("strip-prefx", runFlags), "strip-prefix");
    assert.equal(closestMatch("env-prefx", runFlags), "env-prefix");
  });

  it("suggests nothing when no flag is close", () => {
    assert.equal(closestMatch("frobnicate", runFlags), undefined);
    assert.equal(closestMatch("x", runFlags), undefined);
    assert.equal(closestMatch("verbose", runFlags), undefined);
    assert.equal(closestMatch("pfx", runFlags), undefined, "two edits are too many for 3 letters");
    assert.equal(closestMatch("anything", []), undefined);
  });
});

describe("unknownOptionMessage", () => {
  it("names the option and the closest known one", () => {
    assert.equal(
      unknownOptionMessage("--prefx", runFlags),
      "Unknown option --prefx (did you mean --prefix?).",
    );
    assert.equal(
      unknownOptionMessage("--prefx=orders-", runFlags),
      "Unknown option --prefx=orders- (did you mean --prefix?).",
    );
  });

  it("names only the option when nothing is close, or for a short option", () => {
    assert.equal(unknownOptionMessage("--frobnicate", runFlags), "Unknown option --frobnicate.");
    assert.equal(unknownOptionMessage("-x", runFlags), "Unknown option -x.");
  });
});

describe("parseArgsErrorMessage", () => {
  function parseError(args: string[]): unknown {
    try {
      parseArgs({ args, options: { prefix: { type: "string" } }, strict: true });
    } catch (error) {
      return error;
    }
    assert.fail("parseArgs accepted the arguments");
  }

  it("reads the option out of node:util's error (the assumption the commands lean on)", () => {
    assert.equal(
      parseArgsErrorMessage(parseError(["--prefx", "a"]), ["prefix"]),
      "Unknown option --prefx (did you mean --prefix?).",
    );
    assert.equal(parseArgsErrorMessage(parseError(["-x"]), ["prefix"]), "Unknown option -x.");
  });

  it("keeps the parser's message for other errors", () => {
    const missing = parseError(["--prefix"]);
    assert.equal(parseArgsErrorMessage(missing, ["prefix"]), (missing as Error).message);
    assert.match((missing as Error).message, /--prefix/);
  });
});
