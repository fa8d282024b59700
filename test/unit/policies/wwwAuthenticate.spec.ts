import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeClaims,
  parseBearerChallenge,
  parseWwwAuthenticate,
} from "../../../src/policies/wwwAuthenticate.js";

describe("parseWwwAuthenticate", function () {
  it("parses several challenges with quoted and unquoted parameters", function () {
    const challenges = parseWwwAuthenticate(
      'Basic realm="a, b", PoP nonce=xyz, Bearer authorization="https://login.windows.net/t", resource=https://vault.azure.net',
    );
    assert.deepEqual(
      challenges.map((challenge) => [challenge.scheme, { ...challenge.parameters }]),
      [
        ["Basic", { realm: "a, b" }],
        ["PoP", { nonce: "xyz" }],
        [
          "Bearer",
          { authorization: "https://login.windows.net/t", resource: "https://vault.azure.net" },
        ],
      ],
    );
  });

  it("keeps escaped quotes, commas, spaces and = inside quoted values", function () {
    const [challenge] = parseWwwAuthenticate('Bearer claims="a=b, \\"c\\" d==", error="x"');
    assert.equal(challenge!.parameters.claims, 'a=b, "c" d==');
    assert.equal(challenge!.parameters.error, "x");
  });

  it("keeps the first of repeated parameters", function () {
    const [challenge] = parseWwwAuthenticate('Bearer resource="first", resource="second"');
    assert.equal(challenge!.parameters.resource, "first");
  });

  it("returns no challenges for non-strings and empty input", function () {
    assert.deepEqual(parseWwwAuthenticate(undefined), []);
    assert.deepEqual(parseWwwAuthenticate(null), []);
    assert.deepEqual(parseWwwAuthenticate("  , ,"), []);
  });

  it("never throws and always terminates on arbitrary input", function () {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (header) => {
        const challenges = parseWwwAuthenticate(header);
        assert.ok(Array.isArray(challenges));
        parseBearerChallenge(header);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on inputs built from the header's own punctuation", function () {
    const pieces = fc.constantFrom("Bearer", " ", ",", "=", '"', "\\", "resource", "a");
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 40 }), (parts) => {
        parseBearerChallenge(parts.join(""));
      }),
      { numRuns: 500 },
    );
  });
});

describe("parseBearerChallenge", function () {
  it("maps the Key Vault parameters and ignores unknown ones", function () {
    assert.deepEqual(
      parseBearerChallenge(
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="e30", foo="bar"',
      ),
      {
        realm: "",
        authorizationUri: "https://login.microsoftonline.com/common/oauth2/authorize",
        error: "insufficient_claims",
        claims: "e30",
      },
    );
  });

  it("prefers a Bearer challenge that carries Key Vault parameters", function () {
    assert.deepEqual(parseBearerChallenge('Bearer realm="x", Bearer scope="https://s/.default"'), {
      scope: "https://s/.default",
    });
  });

  it("returns undefined without a Bearer challenge", function () {
    assert.equal(parseBearerChallenge('Basic realm="vault"'), undefined);
    assert.equal(parseBearerChallenge("resource=https://vault.azure.net"), undefined);
  });
});

describe("decodeClaims", function () {
  const json = '{"access_token":{"nbf":{"essential":true,"value":"1726077595"}},"n":"ü?>~"}';

  it("decodes padded base64, unpadded base64 and base64url", function () {
    const padded = Buffer.from(json).toString("base64");
    assert.equal(decodeClaims(padded), json);
    assert.equal(decodeClaims(padded.replace(/=+$/, "")), json);
    assert.equal(decodeClaims(Buffer.from(json).toString("base64url")), json);
  });

  it("accepts claims sent as plain JSON", function () {
    assert.equal(decodeClaims(json), json);
  });

  it("rejects values that are not base64 of a JSON object", function () {
    assert.equal(decodeClaims(""), undefined);
    assert.equal(decodeClaims("%%%"), undefined);
    assert.equal(decodeClaims("a"), undefined);
    assert.equal(decodeClaims(Buffer.from("not json").toString("base64")), undefined);
    assert.equal(decodeClaims(Buffer.from("[1,2]").toString("base64")), undefined);
    assert.equal(decodeClaims(Buffer.from([0xff, 0xfe, 0x7b]).toString("base64")), undefined);
  });
});
