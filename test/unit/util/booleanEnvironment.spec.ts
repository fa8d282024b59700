import assert from "node:assert/strict";
import { parseBooleanEnvironment } from "../../../src/util/booleanText.js";

describe("parseBooleanEnvironment", () => {
  it("reads 1/true/yes/on as true and 0/false/no/off as false, in any case, around blanks", () => {
    for (const text of ["1", "true", "TRUE", "Yes", "on", " ON "]) {
      assert.equal(parseBooleanEnvironment("X", text), true, text);
    }
    for (const text of ["0", "false", "False", "NO", "off", "\toff\n"]) {
      assert.equal(parseBooleanEnvironment("X", text), false, text);
    }
  });

  it("is undefined when unset or blank: the caller's default", () => {
    assert.equal(parseBooleanEnvironment("X", undefined), undefined);
    assert.equal(parseBooleanEnvironment("X", ""), undefined);
    assert.equal(parseBooleanEnvironment("X", "  "), undefined);
  });

  it("refuses anything else with a TypeError naming the variable and the words, not the value", () => {
    for (const text of ["maybe", "2", "enabled", "s3cret-value"]) {
      assert.throws(
        () => parseBooleanEnvironment("KEYVAULT_SECRETS_OVERRIDE", text),
        (error: unknown) =>
          error instanceof TypeError &&
          error.message.startsWith("KEYVAULT_SECRETS_OVERRIDE must be true or false") &&
          /also 1\/0, yes\/no, on\/off/.test(error.message) &&
          !error.message.includes(text),
      );
    }
  });
});
