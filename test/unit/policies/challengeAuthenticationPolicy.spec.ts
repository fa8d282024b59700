import assert from "node:assert/strict";
import { AzureLogger, getLogLevel, setLogLevel, type AzureLogLevel } from "@azure/logger";
import {
  challengeAuthenticationPolicy,
  challengeAuthenticationPolicyName,
} from "../../../src/policies/challengeAuthenticationPolicy.js";
import { clearChallengeCache, setCachedChallenge } from "../../../src/policies/challengeCache.js";
import { eventually, logLinesDuring } from "../../helpers/testKit.js";
import {
  type CannedAnswer,
  type FakeCredential,
  fakeCredential,
  fakeNext,
  makeRequest,
} from "../../helpers/policyFakes.js";

const vaultUrl = "https://myvault.vault.azure.net";
const tenantId = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const vaultScope = "https://vault.azure.net/.default";

// The challenge every captured real vault sends.
const realChallenge = `Bearer authorization="https://login.windows.net/${tenantId}", resource="https://vault.azure.net"`;
const challenge401 = (header: string = realChallenge): CannedAnswer => ({
  status: 401,
  headers: { "WWW-Authenticate": header },
  bodyAsText:
    '{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}',
});
const ok200: CannedAnswer = { status: 200, bodyAsText: '{"value":"s3cret"}' };

const claimsJson = '{"access_token":{"nbf":{"essential":true,"value":"1726077595"}},"note":"ü?>~"}';
const claimsBase64 = Buffer.from(claimsJson).toString("base64");
const claimsChallenge = (claims: string): CannedAnswer => ({
  status: 401,
  headers: {
    "WWW-Authenticate": `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="${claims}"`,
  },
});

// Answers 401 + challenge to any request without a token, 200 otherwise: a vault in miniature.
const vaultLike =
  (header: string = realChallenge) =>
  (request: { headers: { has(name: string): boolean } }): CannedAnswer =>
    request.headers.has("Authorization") ? ok200 : challenge401(header);

describe("challengeAuthenticationPolicy", function () {
  beforeEach(function () {
    clearChallengeCache();
  });

  it("is named keyVaultChallengeAuthenticationPolicy", function () {
    const policy = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl });
    assert.equal(policy.name, "keyVaultChallengeAuthenticationPolicy");
    assert.equal(challengeAuthenticationPolicyName, policy.name);
  });

  it("answers the real authorization/resource challenge: no token first, then Bearer with the tenant's token", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const next = fakeNext([challenge401(), ok200]);
    const request = makeRequest(`${vaultUrl}/secrets/name?api-version=7.6`);
    const controller = new AbortController();
    request.abortSignal = controller.signal;
    request.tracingOptions = { tracingContext: undefined };

    const response = await policy.sendRequest(request, next);

    assert.equal(response.status, 200);
    assert.equal(next.sent.length, 2);
    assert.equal(next.sent[0]!.authorization, undefined);
    assert.equal(next.sent[1]!.authorization, "Bearer token-1");
    assert.equal(credential.calls.length, 1);
    assert.equal(credential.calls[0]!.scopes, vaultScope);
    const options = credential.calls[0]!.options!;
    assert.equal(options.tenantId, tenantId);
    assert.equal(options.enableCae, true);
    assert.equal(options.claims, undefined);
    assert.equal(options.abortSignal, controller.signal);
    assert.equal(options.tracingOptions, request.tracingOptions);
  });

  it("uses the scope parameter as given, without doubling /.default", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const header = `Bearer authorization="https://login.microsoftonline.com/${tenantId}", scope="https://vault.azure.net/.default"`;
    const response = await policy.sendRequest(
      makeRequest(`${vaultUrl}/secrets`),
      fakeNext(vaultLike(header)),
    );
    assert.equal(response.status, 200);
    assert.equal(credential.calls[0]!.scopes, vaultScope);
    assert.equal(credential.calls[0]!.options!.tenantId, tenantId);
  });

  it("prefers scope over resource when both are present", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const header = `Bearer authorization="https://login.windows.net/${tenantId}", resource="https://vault.azure.net", scope="https://vault.azure.net/user_impersonation"`;
    await policy.sendRequest(makeRequest(`${vaultUrl}/secrets`), fakeNext(vaultLike(header)));
    assert.equal(credential.calls[0]!.scopes, "https://vault.azure.net/user_impersonation");
  });

  it("does not double /.default when the resource already ends with it", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const header = `Bearer authorization="https://login.windows.net/${tenantId}", resource="https://vault.azure.net/.default"`;
    await policy.sendRequest(makeRequest(`${vaultUrl}/secrets`), fakeNext(vaultLike(header)));
    assert.equal(credential.calls[0]!.scopes, vaultScope);
  });

  const parsedForms: Array<[string, string]> = [
    [
      "unknown parameters and quoted commas, spaces and =",
      `Bearer foo="a, b=c d", authorization="https://login.windows.net/${tenantId}", bar=baz, resource="https://vault.azure.net", x-extra="="`,
    ],
    [
      "unquoted values",
      `Bearer authorization=https://login.windows.net/${tenantId}, resource=https://vault.azure.net`,
    ],
    [
      "several challenges in one header",
      `PoP nonce="abc, def=", Basic realm="x", Bearer authorization="https://login.windows.net/${tenantId}", resource="https://vault.azure.net"`,
    ],
    [
      "lower-case scheme, upper-case parameter names and extra whitespace",
      `bearer   AUTHORIZATION = "https://login.windows.net/${tenantId}" ,Resource="https://vault.azure.net"  `,
    ],
  ];
  for (const [form, header] of parsedForms) {
    it(`parses a challenge with ${form}`, async function () {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const response = await policy.sendRequest(
        makeRequest(`${vaultUrl}/secrets`),
        fakeNext(vaultLike(header)),
      );
      assert.equal(response.status, 200);
      assert.equal(credential.calls.length, 1);
      assert.equal(credential.calls[0]!.scopes, vaultScope);
      assert.equal(credential.calls[0]!.options!.tenantId, tenantId);
    });
  }

  const garbage = [
    "",
    'Basic realm="vault"',
    "Bearer",
    '"""',
    "=,=,==",
    'Bearer ,,, = = "',
    `Bearer authorization="https://login.windows.net/${tenantId}"`,
    'Bearer resource="not a url"',
    'Bearer scope="   "',
    'Bearer error="invalid_token"',
  ];
  for (const header of garbage) {
    it(`returns the 401 unchanged for the unusable header ${JSON.stringify(header)}`, async function () {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext([challenge401(header)]);
      const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets`), next);
      assert.equal(response.status, 401);
      assert.equal(response.headers.get("WWW-Authenticate"), header);
      assert.equal(next.sent.length, 1);
      assert.equal(credential.calls.length, 0);
    });
  }

  it("returns a 401 without any WWW-Authenticate header unchanged", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const response = await policy.sendRequest(
      makeRequest(`${vaultUrl}/secrets`),
      fakeNext([{ status: 401 }]),
    );
    assert.equal(response.status, 401);
    assert.equal(credential.calls.length, 0);
  });

  describe("continuous access evaluation", function () {
    const variants: Array<[string, string]> = [
      ["padded base64", claimsBase64],
      ["base64 without padding", claimsBase64.replace(/=+$/, "")],
      ["base64url without padding", Buffer.from(claimsJson).toString("base64url")],
    ];
    it("test data covers padding and the base64url alphabet", function () {
      assert.match(claimsBase64, /=$/);
      assert.match(Buffer.from(claimsJson).toString("base64url"), /[-_]/);
    });
    for (const [name, encoded] of variants) {
      it(`answers a claims challenge (${name}) once with a token for those claims`, async function () {
        const credential = fakeCredential();
        const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
        const next = fakeNext([challenge401(), ok200, claimsChallenge(encoded), ok200]);
        await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
        const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/b`), next);

        assert.equal(response.status, 200);
        assert.deepEqual(
          next.sent.map((sent) => sent.authorization),
          [undefined, "Bearer token-1", "Bearer token-1", "Bearer token-2"],
        );
        assert.equal(credential.calls.length, 2);
        const options = credential.calls[1]!.options!;
        assert.equal(options.claims, claimsJson);
        // The tenant comes from the vault's challenge, not from the CAE challenge's "common".
        assert.equal(options.tenantId, tenantId);
        assert.equal(options.enableCae, true);
        assert.equal(credential.calls[1]!.scopes, vaultScope);
      });
    }

    it("returns a second claims challenge in a row to the caller", async function () {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext([
        challenge401(),
        claimsChallenge(claimsBase64),
        claimsChallenge(claimsBase64),
        ok200,
      ]);
      const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      assert.equal(response.status, 401);
      assert.match(response.headers.get("WWW-Authenticate")!, /insufficient_claims/);
      assert.equal(next.sent.length, 3);
      assert.equal(credential.calls.length, 2);
    });

    it("returns a claims challenge whose claims are not base64 JSON", async function () {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext([challenge401(), claimsChallenge("%%%not-base64%%%"), ok200]);
      const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      assert.equal(response.status, 401);
      assert.equal(next.sent.length, 2);
      assert.equal(credential.calls.length, 1);
    });

    it("keeps using the claims token for later requests", async function () {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext([challenge401(), claimsChallenge(claimsBase64), ok200, ok200]);
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/b`), next);
      assert.equal(next.sent[3]!.authorization, "Bearer token-2");
      assert.equal(credential.calls.length, 2);
    });
  });

  it("calls getToken once for 10 parallel first requests", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const next = fakeNext(vaultLike());
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        policy.sendRequest(makeRequest(`${vaultUrl}/secrets/s${index}`), next),
      ),
    );
    assert.deepEqual(
      responses.map((response) => response.status),
      Array.from({ length: 10 }, () => 200),
    );
    assert.equal(credential.calls.length, 1);
    // At most one challenge round trip per request.
    assert.ok(next.sent.length <= 20, `sent ${next.sent.length}`);
    assert.equal(next.sent.filter((sent) => sent.authorization === "Bearer token-1").length, 10);
  });

  describe("resource verification", function () {
    const mismatches: Array<[string, string, string]> = [
      [
        "another cloud's resource",
        vaultUrl,
        `Bearer authorization="https://login.windows.net/${tenantId}", resource="https://vault.azure.cn"`,
      ],
      [
        "a host that only looks like a vault",
        "https://myvault-vault.azure.net.evil.example",
        realChallenge,
      ],
      ["a suffix without the dot", "https://evilvault.azure.net", realChallenge],
      [
        "a scope for another resource",
        vaultUrl,
        `Bearer authorization="https://login.windows.net/${tenantId}", scope="https://management.azure.com/.default"`,
      ],
      ["a resource equal to the host (no subdomain)", "https://vault.azure.net", realChallenge],
    ];
    for (const [name, url, header] of mismatches) {
      it(`refuses ${name} without requesting a token`, async function () {
        const credential = fakeCredential();
        const policy = challengeAuthenticationPolicy({ credential, vaultUrl: url });
        const next = fakeNext(vaultLike(header));
        await assert.rejects(
          policy.sendRequest(makeRequest(`${url}/secrets/a`), next),
          (error: Error) => {
            assert.equal(error.constructor, Error);
            assert.equal((error as Error & { code?: string }).code, "ChallengeResourceMismatch");
            assert.match(error.message, /resource/);
            assert.match(error.message, /do not match/);
            assert.match(error.message, /disableChallengeResourceVerification: true/);
            assert.match(error.message, /SecretClientOptions/);
            return true;
          },
        );
        assert.equal(credential.calls.length, 0);
        assert.equal(next.sent.length, 1);
        assert.equal(next.sent[0]!.authorization, undefined);
      });
    }

    it("accepts any vault that is a subdomain of the resource, case-insensitively", async function () {
      const credential = fakeCredential();
      const url = "https://MyVault.Vault.Azure.NET";
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl: url });
      const header = `Bearer authorization="https://login.windows.net/${tenantId}", resource="https://VAULT.azure.net"`;
      const response = await policy.sendRequest(
        makeRequest(`${url}/secrets/a`),
        fakeNext(vaultLike(header)),
      );
      assert.equal(response.status, 200);
    });

    it("can be turned off for the local vault and private clouds", async function () {
      const credential = fakeCredential();
      const url = "https://localhost:8443";
      const policy = challengeAuthenticationPolicy({
        credential,
        vaultUrl: url,
        disableChallengeResourceVerification: true,
      });
      const next = fakeNext(vaultLike());
      const response = await policy.sendRequest(makeRequest(`${url}/secrets/a`), next);
      assert.equal(response.status, 200);
      assert.equal(credential.calls[0]!.scopes, vaultScope);
      assert.equal(next.sent[1]!.authorization, "Bearer token-1");
    });

    it("checks a challenge cached by a client that had verification off", async function () {
      const url = "https://localhost:8443";
      const lenient = challengeAuthenticationPolicy({
        credential: fakeCredential(),
        vaultUrl: url,
        disableChallengeResourceVerification: true,
      });
      await lenient.sendRequest(makeRequest(`${url}/secrets/a`), fakeNext(vaultLike()));

      const credential = fakeCredential();
      const strict = challengeAuthenticationPolicy({ credential, vaultUrl: url });
      const next = fakeNext(vaultLike());
      await assert.rejects(
        strict.sendRequest(makeRequest(`${url}/secrets/a`), next),
        /do not match/,
      );
      assert.equal(credential.calls.length, 0);
      assert.equal(next.sent.length, 0);
    });
  });

  describe("transport safety", function () {
    it("refuses http to a non-loopback host before sending anything or requesting a token", async function () {
      const credential = fakeCredential();
      const url = "http://myvault.vault.azure.net";
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl: url });
      const next = fakeNext(vaultLike());
      await assert.rejects(
        policy.sendRequest(makeRequest(`${url}/secrets/a`), next),
        (error: Error) => {
          assert.match(error.message, /over http/);
          assert.match(error.message, /https/);
          assert.match(error.message, /myvault\.vault\.azure\.net/);
          return true;
        },
      );
      assert.equal(credential.calls.length, 0);
      assert.equal(next.sent.length, 0);
    });

    for (const url of [
      "http://localhost:8080",
      "http://127.0.0.1:8080",
      "http://127.10.20.30",
      "http://[::1]:8080",
    ]) {
      it(`allows http to the loopback host ${url}`, async function () {
        const credential = fakeCredential();
        const policy = challengeAuthenticationPolicy({
          credential,
          vaultUrl: url,
          disableChallengeResourceVerification: true,
        });
        const next = fakeNext(vaultLike());
        const response = await policy.sendRequest(makeRequest(`${url}/secrets/a`), next);
        assert.equal(response.status, 200);
        assert.equal(next.sent[1]!.authorization, "Bearer token-1");
      });
    }

    it("does not treat 128.0.0.1 or localhost.example as loopback", async function () {
      for (const url of ["http://128.0.0.1", "http://localhost.example"]) {
        const policy = challengeAuthenticationPolicy({
          credential: fakeCredential(),
          vaultUrl: url,
          disableChallengeResourceVerification: true,
        });
        await assert.rejects(
          policy.sendRequest(makeRequest(`${url}/secrets/a`), fakeNext([ok200])),
          /over http/,
        );
      }
    });

    it("sends a request to a foreign origin without Authorization, even if an earlier hop set one", async function () {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext(vaultLike());
      const request = makeRequest(`${vaultUrl}/secrets/a`);
      await policy.sendRequest(request, next);
      assert.equal(next.sent[1]!.authorization, "Bearer token-1");

      // As the redirect policy does: same request object, new URL.
      request.url = "https://attacker.example/secrets/a";
      const response = await policy.sendRequest(request, next);
      assert.equal(response.status, 401);
      assert.equal(next.sent[2]!.url, "https://attacker.example/secrets/a");
      assert.equal(next.sent[2]!.authorization, undefined);
      assert.equal(credential.calls.length, 1);
    });

    it("strips a stale Authorization and treats another port or http on the vault host as foreign", async function () {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext([ok200]);
      const request = makeRequest(`${vaultUrl}/secrets/a`);
      request.headers.set("Authorization", "Bearer stale");
      await policy.sendRequest(request, next);
      for (const url of [
        "https://myvault.vault.azure.net:8443/secrets/a",
        "http://myvault.vault.azure.net/secrets/a",
      ]) {
        request.url = url;
        request.headers.set("Authorization", "Bearer stale");
        await policy.sendRequest(request, next);
      }
      assert.deepEqual(
        next.sent.map((sent) => sent.authorization),
        [undefined, undefined, undefined],
      );
      assert.equal(credential.calls.length, 0);
    });

    it("treats a nextLink that names :443 explicitly as the vault's origin", async function () {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext(vaultLike());
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets?maxresults=25`), next);
      const response = await policy.sendRequest(
        makeRequest("https://myvault.vault.azure.net:443/secrets?$skiptoken=abc&maxresults=25"),
        next,
      );
      assert.equal(response.status, 200);
      assert.equal(next.sent[2]!.authorization, "Bearer token-1");
    });
  });

  it("sends the token on the first request of a new policy instance for a known vault", async function () {
    const first = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl });
    await first.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), fakeNext(vaultLike()));

    const credential = fakeCredential();
    const second = challengeAuthenticationPolicy({
      credential,
      vaultUrl: "https://MYVAULT.vault.azure.net/",
    });
    const next = fakeNext(vaultLike());
    const response = await second.sendRequest(makeRequest(`${vaultUrl}/secrets/b`), next);
    assert.equal(response.status, 200);
    assert.equal(next.sent.length, 1);
    assert.equal(next.sent[0]!.authorization, "Bearer token-1");
    assert.equal(credential.calls[0]!.options!.tenantId, tenantId);
    assert.equal(credential.calls[0]!.scopes, vaultScope);
  });

  it("does not apply one vault's challenge to another vault", async function () {
    const first = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl });
    await first.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), fakeNext(vaultLike()));
    const other = "https://othervault.vault.azure.net";
    const policy = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl: other });
    const next = fakeNext(vaultLike());
    await policy.sendRequest(makeRequest(`${other}/secrets/a`), next);
    assert.equal(next.sent[0]!.authorization, undefined);
  });

  it("learns a new challenge when a token is rejected, retries once, then returns the 401", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const otherTenant = "11111111-2222-3333-4444-555555555555";
    const moved = `Bearer authorization="https://login.windows.net/${otherTenant}", resource="https://vault.azure.net"`;
    const next = fakeNext([challenge401(), challenge401(moved), ok200]);
    const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    assert.equal(response.status, 200);
    assert.deepEqual(
      next.sent.map((sent) => sent.authorization),
      [undefined, "Bearer token-1", "Bearer token-2"],
    );
    assert.equal(credential.calls[1]!.options!.tenantId, otherTenant);

    // The cache now names the new tenant for every client.
    const fresh = fakeCredential();
    await challengeAuthenticationPolicy({ credential: fresh, vaultUrl }).sendRequest(
      makeRequest(`${vaultUrl}/secrets/a`),
      fakeNext([ok200]),
    );
    assert.equal(fresh.calls[0]!.options!.tenantId, otherTenant);

    const rejecting = fakeNext([challenge401(moved)]);
    const rejected = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), rejecting);
    assert.equal(rejected.status, 401);
    assert.equal(rejecting.sent.length, 2);
  });

  describe("request body", function () {
    const body = '{"value":"s3cret-value"}';

    it("withholds the body from the challenge request and restores it for the real one and on every later call", async function () {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext(vaultLike());
      const request = makeRequest(`${vaultUrl}/secrets/a?api-version=7.6`, "PUT", body);

      await policy.sendRequest(request, next);
      assert.equal(next.sent[0]!.body, undefined);
      assert.equal(next.sent[1]!.body, body);
      assert.equal(request.body, body);

      // The retry policy calls sendRequest again with the same request object.
      await policy.sendRequest(request, next);
      assert.equal(next.sent[2]!.body, body);
      assert.equal(next.sent[2]!.authorization, "Bearer token-1");
      assert.equal(request.body, body);
    });

    for (const method of ["POST", "PATCH"] as const) {
      it(`withholds the body of a ${method} too`, async function () {
        const policy = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl });
        const next = fakeNext(vaultLike());
        await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/restore`, method, body), next);
        assert.deepEqual(
          next.sent.map((sent) => sent.body),
          [undefined, body],
        );
      });
    }

    it("restores the body when the challenge request fails, so a retry sends it", async function () {
      const policy = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl });
      const request = makeRequest(`${vaultUrl}/secrets/a`, "PUT", body);
      const failure = new Error("socket hang up");
      await assert.rejects(policy.sendRequest(request, fakeNext([{ error: failure }])), failure);
      assert.equal(request.body, body);

      const next = fakeNext(vaultLike());
      await policy.sendRequest(request, next);
      assert.deepEqual(
        next.sent.map((sent) => sent.body),
        [undefined, body],
      );
    });

    it("re-sends with the body when the vault answers the bodyless request without a challenge", async function () {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext((request) => (request.body === undefined ? { status: 400 } : ok200));
      const response = await policy.sendRequest(
        makeRequest(`${vaultUrl}/secrets/a`, "PUT", body),
        next,
      );
      assert.equal(response.status, 200);
      assert.deepEqual(
        next.sent.map((sent) => [sent.body, sent.authorization]),
        [
          [undefined, undefined],
          [body, undefined],
        ],
      );
      assert.equal(credential.calls.length, 0);
    });

    it("sends a GET once when the vault does not challenge it", async function () {
      const policy = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl });
      const next = fakeNext([{ status: 404 }]);
      const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      assert.equal(response.status, 404);
      assert.equal(next.sent.length, 1);
    });
  });

  describe("token cache", function () {
    it("reuses a valid token across requests", async function () {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext(vaultLike());
      for (let index = 0; index < 3; index++) {
        await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      }
      assert.equal(credential.calls.length, 1);
      assert.equal(next.sent.at(-1)!.authorization, "Bearer token-1");
    });

    it("refreshes a token within 2 minutes of expiry", async function () {
      const credential = fakeCredential((call) => ({
        token: `token-${call}`,
        expiresOnTimestamp: Date.now() + 90_000,
      }));
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext(vaultLike());
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      assert.equal(credential.calls.length, 2);
      assert.equal(next.sent.at(-1)!.authorization, "Bearer token-2");
    });

    it("does not refresh a token with 3 minutes left", async function () {
      const credential = fakeCredential((call) => ({
        token: `token-${call}`,
        expiresOnTimestamp: Date.now() + 180_000,
      }));
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext(vaultLike());
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      assert.equal(credential.calls.length, 1);
    });

    it("refreshes after refreshAfterTimestamp even when far from expiry", async function () {
      const credential = fakeCredential((call) => ({
        token: `token-${call}`,
        expiresOnTimestamp: Date.now() + 3600_000,
        refreshAfterTimestamp: Date.now() - 1,
      }));
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext(vaultLike());
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      assert.equal(credential.calls.length, 2);
      assert.equal(next.sent.at(-1)!.authorization, "Bearer token-2");
    });

    it("keeps using a still-valid token when the refresh fails", async function () {
      const credential = fakeCredential((call) => {
        if (call > 1) {
          throw new Error("identity endpoint unavailable");
        }
        return { token: "token-1", expiresOnTimestamp: Date.now() + 60_000 };
      });
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext(vaultLike());
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      assert.equal(response.status, 200);
      assert.equal(credential.calls.length, 2);
      assert.equal(next.sent.at(-1)!.authorization, "Bearer token-1");
    });

    it("throws the refresh error when the old token has expired", async function () {
      const credential = fakeCredential((call) => {
        if (call > 1) {
          throw new Error("identity endpoint unavailable");
        }
        return { token: "token-1", expiresOnTimestamp: Date.now() - 1 };
      });
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext(vaultLike());
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      await assert.rejects(
        policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next),
        /identity endpoint unavailable/,
      );
    });

    it("throws a clear error when the credential returns no token", async function () {
      const credential = fakeCredential(() => null);
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      await assert.rejects(
        policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), fakeNext(vaultLike())),
        (error: Error) => {
          assert.match(error.message, /returned no access token/);
          assert.match(error.message, /vault\.azure\.net\/\.default/);
          return true;
        },
      );
    });
  });

  it("rejects a missing credential or a relative vault URL with a TypeError", function () {
    assert.throws(
      () => challengeAuthenticationPolicy({ credential: undefined as never, vaultUrl }),
      TypeError,
    );
    assert.throws(
      () => challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl: "myvault" }),
      (error: Error) => error instanceof TypeError && /absolute URL/.test(error.message),
    );
  });

  describe("secrecy", function () {
    let savedLog: typeof AzureLogger.log;
    let savedLevel: AzureLogLevel | undefined;
    const lines: string[] = [];
    beforeEach(function () {
      savedLog = AzureLogger.log;
      savedLevel = getLogLevel();
      lines.length = 0;
      AzureLogger.log = (...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      };
      setLogLevel("verbose");
    });
    afterEach(function () {
      AzureLogger.log = savedLog;
      setLogLevel(savedLevel);
    });

    it("never logs the token, the claims or the body, and logs the flow", async function () {
      const credential = fakeCredential((call) => ({
        token: `eyJTOKEN-${call}`,
        expiresOnTimestamp: Date.now() + 3600_000,
      }));
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext([challenge401(), claimsChallenge(claimsBase64), ok200]);
      await policy.sendRequest(
        makeRequest(`${vaultUrl}/secrets/a`, "PUT", '{"value":"s3cret"}'),
        next,
      );
      assert.equal(next.sent.at(-1)!.authorization, "Bearer eyJTOKEN-2");

      const logged = lines.join("\n");
      assert.match(logged, /claims challenge/);
      assert.doesNotMatch(logged, /eyJTOKEN/);
      assert.doesNotMatch(logged, /1726077595/);
      assert.ok(!logged.includes(claimsBase64.slice(0, 20)));
      assert.doesNotMatch(logged, /s3cret/);
    });
  });
});

// Behaviours that mutation testing found unchecked (issue #27), one describe per concern.
describe("challengeAuthenticationPolicy: arguments", function () {
  const needsCredential =
    "challengeAuthenticationPolicy needs a TokenCredential, e.g. new DefaultAzureCredential() from @azure/identity.";

  it("names what it needs when the credential is missing, null or has no getToken", function () {
    for (const credential of [undefined, null, {}, { getToken: "token" }]) {
      assert.throws(
        () => challengeAuthenticationPolicy({ credential: credential as never, vaultUrl }),
        { name: "TypeError", message: needsCredential },
      );
    }
    assert.throws(() => challengeAuthenticationPolicy(undefined as never), {
      name: "TypeError",
      message: needsCredential,
    });
  });

  it("refuses a vault URL without an origin (file:, data:) when it is created", function () {
    for (const url of ["file:///tmp/vault", "data:text/plain,vault"]) {
      assert.throws(
        () => challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl: url }),
        {
          name: "TypeError",
          message: `The vault URL must be an absolute URL such as "https://myvault.vault.azure.net"; got ${JSON.stringify(url)}.`,
        },
      );
    }
  });

  it("refuses a scheme other than https and http, even to a loopback host", async function () {
    const url = "ftp://localhost";
    const policy = challengeAuthenticationPolicy({
      credential: fakeCredential(),
      vaultUrl: url,
      disableChallengeResourceVerification: true,
    });
    await assert.rejects(policy.sendRequest(makeRequest(`${url}/secrets/a`), fakeNext([ok200])), {
      message:
        "Refusing to send a Key Vault token to localhost over ftp: tokens are only sent over https, or over http to a loopback host (localhost, 127.0.0.0/8, ::1) such as the local vault. Use an https vault URL.",
    });
  });

  it("says which host and scheme it refused", async function () {
    const url = "http://myvault.vault.azure.net";
    const policy = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl: url });
    await assert.rejects(policy.sendRequest(makeRequest(`${url}/secrets/a`), fakeNext([ok200])), {
      message:
        "Refusing to send a Key Vault token to myvault.vault.azure.net over http: tokens are only sent over https, or over http to a loopback host (localhost, 127.0.0.0/8, ::1) such as the local vault. Use an https vault URL.",
    });
  });

  it("sends no token to a URL that merely ends with the vault's URL", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const next = fakeNext(vaultLike());
    await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    const request = makeRequest(`https://attacker.example/?next=${vaultUrl}/`);
    await policy.sendRequest(request, next);
    assert.equal(next.sent.at(-1)!.url, request.url);
    assert.equal(next.sent.at(-1)!.authorization, undefined);
  });
});

describe("challengeAuthenticationPolicy: challenges", function () {
  beforeEach(function () {
    clearChallengeCache();
  });

  async function scopeAndTenantFor(header: string): Promise<[unknown, unknown]> {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const response = await policy.sendRequest(
      makeRequest(`${vaultUrl}/secrets/a`),
      fakeNext(vaultLike(header)),
    );
    assert.equal(response.status, 200, header);
    return [credential.calls[0]!.scopes, credential.calls[0]!.options?.tenantId];
  }

  it("trims the resource and drops its trailing slashes before adding /.default", async function () {
    for (const resource of [
      " https://vault.azure.net ",
      "https://vault.azure.net/",
      "https://vault.azure.net//",
    ]) {
      const header = `Bearer authorization="https://login.windows.net/${tenantId}", resource="${resource}"`;
      assert.deepEqual(await scopeAndTenantFor(header), [vaultScope, tenantId], resource);
      clearChallengeCache();
    }
  });

  it("passes on only a plausible tenant, and no tenant key without one", async function () {
    for (const authority of [
      "https://login.windows.net/_evil",
      "https://login.windows.net/tenant%2F..",
      "https://login.windows.net/",
    ]) {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const header = `Bearer authorization="${authority}", resource="https://vault.azure.net"`;
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), fakeNext(vaultLike(header)));
      const options = credential.calls[0]!.options!;
      assert.equal(Object.hasOwn(options, "tenantId"), false, authority);
      assert.equal(Object.hasOwn(options, "claims"), false, authority);
      clearChallengeCache();
    }
  });

  it("returns a 401 whose scope or resource is not a URL, even with verification off", async function () {
    for (const header of [
      `Bearer authorization="https://login.windows.net/${tenantId}", scope="not a url"`,
      `Bearer authorization="https://login.windows.net/${tenantId}", scope="${vaultScope}", resource="not a url"`,
    ]) {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({
        credential,
        vaultUrl,
        disableChallengeResourceVerification: true,
      });
      const next = fakeNext(vaultLike(header));
      const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      assert.equal(response.status, 401, header);
      assert.equal(credential.calls.length, 0, header);
    }
  });

  it("verifies the resource as well as the scope, naming which one does not match", async function () {
    const expectations: Array<[string, string]> = [
      [
        `Bearer authorization="https://login.windows.net/${tenantId}", scope="${vaultScope}", resource="https://evil.example"`,
        `The challenge resource "https://evil.example" and the vault host "myvault.vault.azure.net" do not match: the vault host must end with ".evil.example". If this is the local vault or a private cloud, set disableChallengeResourceVerification: true in SecretClientOptions to turn this check off.`,
      ],
      [
        `Bearer authorization="https://login.windows.net/${tenantId}", scope="https://evil.example/.default"`,
        `The challenge resource (scope) "https://evil.example/.default" and the vault host "myvault.vault.azure.net" do not match: the vault host must end with ".evil.example". If this is the local vault or a private cloud, set disableChallengeResourceVerification: true in SecretClientOptions to turn this check off.`,
      ],
      [
        `Bearer authorization="https://login.windows.net/${tenantId}", scope="file:///vault/.default"`,
        `The challenge resource (scope) "file:///vault/.default" and the vault host "myvault.vault.azure.net" do not match: the vault host must end with ".<resource host>". If this is the local vault or a private cloud, set disableChallengeResourceVerification: true in SecretClientOptions to turn this check off.`,
      ],
    ];
    for (const [header, message] of expectations) {
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      await assert.rejects(
        policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), fakeNext(vaultLike(header))),
        { code: "ChallengeResourceMismatch", message },
      );
      assert.equal(credential.calls.length, 0);
    }
  });

  it("with verification off, trusts its own cached challenge on later requests too", async function () {
    const url = "https://localhost:8443";
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({
      credential,
      vaultUrl: url,
      disableChallengeResourceVerification: true,
    });
    const next = fakeNext(vaultLike());
    await policy.sendRequest(makeRequest(`${url}/secrets/a`), next);
    const again = await policy.sendRequest(makeRequest(`${url}/secrets/b`), next);
    assert.equal(again.status, 200);
    assert.equal(next.sent.at(-1)!.authorization, "Bearer token-1");
  });

  it("returns any answer other than 401 as it is, even one carrying a challenge", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), fakeNext(vaultLike()));
    const challenged200: CannedAnswer = {
      status: 200,
      headers: {
        "WWW-Authenticate": `${realChallenge}, error="insufficient_claims", claims="${claimsBase64}"`,
      },
      bodyAsText: "{}",
    };
    const next = fakeNext([challenged200]);
    const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    assert.equal(response.status, 200);
    assert.equal(next.sent.length, 1);
    assert.equal(credential.calls.length, 1);

    // The same for the answer to the first request sent with a new token.
    clearChallengeCache();
    const fresh = fakeCredential();
    const first = fakeNext([challenge401(), challenged200]);
    const answer = await challengeAuthenticationPolicy({ credential: fresh, vaultUrl }).sendRequest(
      makeRequest(`${vaultUrl}/secrets/a`),
      first,
    );
    assert.equal(answer.status, 200);
    assert.equal(first.sent.length, 2);
    assert.equal(fresh.calls.length, 1);
  });

  it("answers claims only for error=insufficient_claims with claims; else learns the challenge again", async function () {
    const withClaims = (error: string, claims: string): CannedAnswer => ({
      status: 401,
      headers: {
        "WWW-Authenticate": `${realChallenge}, error="${error}", claims="${claims}"`,
      },
    });
    for (const rejection of [
      withClaims("invalid_token", claimsBase64),
      withClaims("insufficient_claims", ""),
    ]) {
      clearChallengeCache();
      const credential = fakeCredential();
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext([challenge401(), rejection, ok200]);
      const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
      assert.equal(response.status, 200);
      assert.deepEqual(
        next.sent.map((sent) => sent.authorization),
        [undefined, "Bearer token-1", "Bearer token-2"],
      );
      assert.equal(credential.calls[1]!.options!.claims, undefined);
    }
  });

  it("fetches a new token, not the cached one, when the same challenge rejects its token", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const next = fakeNext([challenge401(), challenge401(), ok200]);
    const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    assert.equal(response.status, 200);
    assert.deepEqual(
      next.sent.map((sent) => sent.authorization),
      [undefined, "Bearer token-1", "Bearer token-2"],
    );
  });
});

describe("challengeAuthenticationPolicy: the withheld body", function () {
  const body = '{"value":"s3cret-value"}';

  beforeEach(function () {
    clearChallengeCache();
  });

  it("sends a PUT without a body once when the vault does not challenge it", async function () {
    const policy = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl });
    const next = fakeNext([{ status: 400 }]);
    const response = await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`, "PUT"), next);
    assert.equal(response.status, 400);
    assert.equal(next.sent.length, 1);
  });

  it("authenticates when the vault challenges only the request with its body", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const next = fakeNext((request) =>
      request.body === undefined ? { status: 400 } : vaultLike()(request),
    );
    const response = await policy.sendRequest(
      makeRequest(`${vaultUrl}/secrets/a`, "PUT", body),
      next,
    );
    assert.equal(response.status, 200);
    assert.deepEqual(
      next.sent.map((sent) => [sent.body, sent.authorization]),
      [
        [undefined, undefined],
        [body, undefined],
        [body, "Bearer token-1"],
      ],
    );
  });

  it("sends no stale Content-Length with the bodyless request, nor its 0 with the real one", async function () {
    const policy = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl });
    const lengths: Array<string | undefined> = [];
    const answer = fakeNext(vaultLike());
    const request = makeRequest(`${vaultUrl}/secrets/a`, "PUT", body);
    // A length left by an earlier attempt.
    request.headers.set("Content-Length", "24");
    await policy.sendRequest(request, (sent) => {
      lengths.push(sent.headers.get("Content-Length"));
      // As core's HTTP client does: it sets the length of what it sends on the request.
      sent.headers.set(
        "Content-Length",
        String(typeof sent.body === "string" ? sent.body.length : 0),
      );
      return answer(sent);
    });
    assert.deepEqual(lengths, [undefined, undefined]);
  });
});

describe("challengeAuthenticationPolicy: log lines", function () {
  beforeEach(function () {
    clearChallengeCache();
  });

  const name = "azure:keyvault-secrets";

  it("logs the scope and tenant a vault asked for, and a scope without a tenant", async function () {
    const lines = await logLinesDuring("info", async () => {
      const policy = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl });
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), fakeNext(vaultLike()));
      clearChallengeCache();
      const noTenant = `Bearer resource="https://vault.azure.net"`;
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), fakeNext(vaultLike(noTenant)));
    });
    assert.deepEqual(lines, [
      `${name}:info keyVaultChallengeAuthenticationPolicy: myvault.vault.azure.net asked for scope ${vaultScope} in tenant ${tenantId}.`,
      `${name}:info keyVaultChallengeAuthenticationPolicy: myvault.vault.azure.net asked for scope ${vaultScope}.`,
    ]);
  });

  it("warns when it returns a 401: no usable challenge, claims twice or undecodable", async function () {
    const lines = await logLinesDuring("warning", async () => {
      const policy = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl });
      // Not a 401: the body the vault answered without a challenge is sent, nothing to warn about.
      await policy.sendRequest(
        makeRequest(`${vaultUrl}/secrets/a`, "PUT", "{}"),
        fakeNext((request) => (request.body === undefined ? { status: 400 } : ok200)),
      );
      await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), fakeNext([{ status: 401 }]));
      await policy.sendRequest(
        makeRequest(`${vaultUrl}/secrets/a`),
        fakeNext([challenge401(), claimsChallenge(claimsBase64), claimsChallenge(claimsBase64)]),
      );
      clearChallengeCache();
      await policy.sendRequest(
        makeRequest(`${vaultUrl}/secrets/a`),
        fakeNext([challenge401(), claimsChallenge("%%%")]),
      );
    });
    assert.deepEqual(lines, [
      `${name}:warning keyVaultChallengeAuthenticationPolicy: 401 from myvault.vault.azure.net without a usable Bearer challenge; returning it.`,
      `${name}:warning keyVaultChallengeAuthenticationPolicy: second claims challenge in a row from myvault.vault.azure.net; returning it.`,
      `${name}:warning keyVaultChallengeAuthenticationPolicy: claims challenge from myvault.vault.azure.net could not be decoded; returning it.`,
    ]);
  });

  it("logs a rejected token, and warns when it keeps a token whose refresh failed", async function () {
    const lines = await logLinesDuring("info", async () => {
      const policy = challengeAuthenticationPolicy({ credential: fakeCredential(), vaultUrl });
      await policy.sendRequest(
        makeRequest(`${vaultUrl}/secrets/a`),
        fakeNext([challenge401(), challenge401(), ok200]),
      );
      clearChallengeCache();
      const refreshing = challengeAuthenticationPolicy({
        vaultUrl,
        credential: fakeCredential((call) => {
          if (call > 1) throw new Error("identity endpoint unavailable");
          return { token: "token-1", expiresOnTimestamp: Date.now() + 60_000 };
        }),
      });
      await refreshing.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), fakeNext(vaultLike()));
      await refreshing.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), fakeNext(vaultLike()));
    });
    assert.deepEqual(
      lines.filter((line) => !line.includes("asked for scope")),
      [
        `${name}:info keyVaultChallengeAuthenticationPolicy: token rejected by myvault.vault.azure.net; requesting a new one for scope ${vaultScope}.`,
        `${name}:warning keyVaultChallengeAuthenticationPolicy: token refresh failed; using the current token until it expires.`,
      ],
    );
  });
});

describe("challengeAuthenticationPolicy: tokens per tenant and scope", function () {
  const otherTenant = "11111111-2222-3333-4444-555555555555";

  beforeEach(function () {
    clearChallengeCache();
  });

  /** A credential whose answers the test releases one by one. */
  function heldCredential(): FakeCredential & { release(): void } {
    const waiting: Array<() => void> = [];
    const calls: FakeCredential["calls"] = [];
    return {
      calls,
      async getToken(scopes, options) {
        calls.push({ scopes, options });
        const number = calls.length;
        await new Promise<void>((resolve) => waiting.push(resolve));
        return { token: `token-${number}`, expiresOnTimestamp: Date.now() + 3600_000 };
      },
      release: () => waiting.shift()?.(),
    };
  }

  it("never sends a token of one tenant after the vault's challenge names another", async function () {
    const credential = fakeCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const next = fakeNext(vaultLike());
    await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    // Another client learned that the vault moved to another tenant.
    setCachedChallenge(vaultUrl, { scope: vaultScope, tenantId: otherTenant });
    await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    assert.equal(next.sent.at(-1)!.authorization, "Bearer token-2");
    assert.equal(credential.calls[1]!.options!.tenantId, otherTenant);
    // And back: the first tenant's token was kept for it... only until the other replaced it.
    setCachedChallenge(vaultUrl, { scope: vaultScope });
    await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    assert.equal(next.sent.at(-1)!.authorization, "Bearer token-3");
  });

  it("does not share a token request in flight for one tenant with a request for another", async function () {
    const credential = heldCredential();
    setCachedChallenge(vaultUrl, { scope: vaultScope, tenantId });
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const next = fakeNext(vaultLike());
    const first = policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    await eventually(() => credential.calls.length === 1);
    setCachedChallenge(vaultUrl, { scope: vaultScope, tenantId: otherTenant });
    const second = policy.sendRequest(makeRequest(`${vaultUrl}/secrets/b`), next);
    await eventually(() => credential.calls.length === 2);
    assert.equal(credential.calls[1]!.options!.tenantId, otherTenant);
    credential.release();
    credential.release();
    await Promise.all([first, second]);
    assert.deepEqual(next.sent.map((sent) => sent.authorization).sort(), [
      "Bearer token-1",
      "Bearer token-2",
    ]);
  });

  it("shares the newest token request in flight once an older one for another tenant ends", async function () {
    const credential = heldCredential();
    setCachedChallenge(vaultUrl, { scope: vaultScope, tenantId });
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const next = fakeNext(vaultLike());
    const first = policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    await eventually(() => credential.calls.length === 1);
    setCachedChallenge(vaultUrl, { scope: vaultScope, tenantId: otherTenant });
    const second = policy.sendRequest(makeRequest(`${vaultUrl}/secrets/b`), next);
    await eventually(() => credential.calls.length === 2);
    credential.release();
    await first;
    // The request for the other tenant is still in flight: a third request waits for it.
    const third = policy.sendRequest(makeRequest(`${vaultUrl}/secrets/c`), next);
    await new Promise((resolve) => setImmediate(resolve));
    credential.release();
    await Promise.all([second, third]);
    assert.equal(credential.calls.length, 2);
  });

  it("hands no request the rejected token while its replacement is fetched", async function () {
    const credential = heldCredential();
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    let revoked = false;
    const next = fakeNext((request) => {
      const authorization = request.headers.get("Authorization");
      if (authorization === undefined) return challenge401();
      return revoked && authorization === "Bearer token-1" ? challenge401() : ok200;
    });
    const warmUp = policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    await eventually(() => credential.calls.length === 1);
    credential.release();
    await warmUp;
    revoked = true;
    const rejected = policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    await eventually(() => credential.calls.length === 2);
    // While token-2 is being fetched, a concurrent request must not get token-1.
    const concurrent = policy.sendRequest(makeRequest(`${vaultUrl}/secrets/b`), next);
    await new Promise((resolve) => setImmediate(resolve));
    credential.release();
    await eventually(() => credential.calls.length === 3);
    credential.release();
    const answers = await Promise.all([rejected, concurrent]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200],
    );
    assert.deepEqual(
      next.sent
        .slice(2)
        .filter((sent) => sent.url.endsWith("/b"))
        .map((sent) => sent.authorization),
      ["Bearer token-3"],
    );
  });

  it("refreshes no token whose refreshAfterTimestamp is still ahead", async function () {
    const credential = fakeCredential((call) => ({
      token: `token-${call}`,
      expiresOnTimestamp: Date.now() + 3600_000,
      refreshAfterTimestamp: Date.now() + 1800_000,
    }));
    const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
    const next = fakeNext(vaultLike());
    await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    await policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next);
    assert.equal(credential.calls.length, 1);
  });

  it("refuses a credential answer without a string token", async function () {
    for (const answer of [undefined, { token: 42, expiresOnTimestamp: Date.now() + 60_000 }]) {
      clearChallengeCache();
      const credential = fakeCredential(() => answer as never);
      const policy = challengeAuthenticationPolicy({ credential, vaultUrl });
      const next = fakeNext(vaultLike());
      await assert.rejects(policy.sendRequest(makeRequest(`${vaultUrl}/secrets/a`), next), {
        message: `The credential returned no access token for scope "${vaultScope}". Check that it can sign in and has access to the vault's tenant.`,
      });
      assert.equal(next.sent.length, 1, "only the challenge request went out");
    }
  });
});
