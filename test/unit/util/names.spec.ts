import assert from "node:assert/strict";
import { checkSecretName, checkSecretVersion, secretNameRule } from "../../../src/util/names.js";

describe("checkSecretName", function () {
  it("returns a name that stays one path segment", function () {
    for (const name of ["a", "my-secret", "x.y", "...a", "ünïcødé"]) {
      assert.equal(checkSecretName(name, "name"), name);
    }
  });

  it("states the service's rule for names in its messages", function () {
    assert.throws(() => checkSecretName("", "name"), {
      name: "TypeError",
      message:
        "name must be a non-empty string, got an empty string. A secret name is 1 to 127 letters (a-z, A-Z), digits and dashes.",
    });
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

describe("checkSecretVersion", function () {
  it("returns a version that stays one path segment", function () {
    assert.equal(checkSecretVersion("0123abcd", "version"), "0123abcd");
  });

  it("refuses a version that would change the URL, without the rule for names", function () {
    for (const value of ["a/b", ".."]) {
      assert.throws(() => checkSecretVersion(value, "version"), {
        name: "TypeError",
        message: `version "${value}" cannot be used: it contains a character that would change the request URL (/, \\, ?, #) or is a dot segment.`,
      });
    }
  });
});
