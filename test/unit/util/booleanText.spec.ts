import assert from "node:assert/strict";
import { booleanTextGrammar, parseBooleanText } from "../../../src/util/booleanText.js";

describe("parseBooleanText", () => {
  it("reads true/false, 1/0, yes/no, on/off in any case, around spaces", () => {
    for (const text of ["true", "1", "yes", "on", "TRUE", " Yes ", "On"]) {
      assert.equal(parseBooleanText(text), true, text);
    }
    for (const text of ["false", "0", "no", "off", "FALSE", " No ", "Off"]) {
      assert.equal(parseBooleanText(text), false, text);
    }
  });

  it("reads anything else, the empty text included, as no boolean", () => {
    for (const text of ["", " ", "maybe", "2", "truee", "y", "enabled"]) {
      assert.equal(parseBooleanText(text), undefined, text);
    }
  });

  it("describes its grammar for messages", () => {
    assert.equal(booleanTextGrammar, "true or false (also 1/0, yes/no, on/off)");
  });
});
