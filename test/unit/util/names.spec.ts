import assert from "node:assert/strict";
import { checkSecretName, secretNameRule } from "../../../src/util/names.js";

describe("checkSecretName", function () {
  it("returns a name that stays one path segment", function () {
    for (const name of ["a", "my-secret", "x.y", "...a", "ünïcødé"]) {
      assert.equal(checkSecretName(name, "name"), name);
    }
  });

  it("refuses an empty string and a value that is not a string, saying which it got", function () {
    assert.throws(() => checkSecretName("", "secretName"), {
      name: "TypeError",
      message: `secretName must be a non-empty string, got an empty string. ${secretNameRule}`,
    });
    for (const [value, got] of [
      [undefined, "undefined"],
      [42, "number"],
      [null, "object"],
    ] as const) {
      assert.throws(() => checkSecretName(value, "version"), {
        name: "TypeError",
        message: `version must be a non-empty string, got ${got}. ${secretNameRule}`,
      });
    }
  });

  it("refuses a character that would change the URL, and dot segments, naming the value", function () {
    for (const value of ["a/b", "a\\b", "a?b", "a#b", ".", ".."]) {
      assert.throws(() => checkSecretName(value, "name"), {
        name: "TypeError",
        message: `name "${value}" cannot be used: it contains a character that would change the request URL (/, \\, ?, #) or is a dot segment. ${secretNameRule}`,
      });
    }
  });
});
