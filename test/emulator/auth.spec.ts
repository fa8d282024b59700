import assert from "node:assert/strict";
import {
  challengeResource,
  challengesWithParent,
  localClientId,
  resourceOfScope,
  VaultAuth,
  vaultResource,
} from "../../src/emulator/http/auth.js";
import { HostPolicy } from "../../src/emulator/http/hosts.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertVaultError, callVault } from "./localVaultTestKit.js";

const tenantId = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const challenge = `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`;
const vaultScope = "https://vault.azure.net/.default";

async function tokenOf(vault: LocalVault, scope = vaultScope, claims?: string): Promise<string> {
  const token = await vault.credential.getToken(scope, claims === undefined ? {} : { claims });
  assert.ok(token);
  return token.token;
}

describe("local vault: authentication", () => {
  describe("default mode", () => {
    let vault: LocalVault;
    before(async () => {
      vault = await startLocalVault({ tenantId });
    });
    after(() => vault.close());

    it("answers 401 with the challenge to a request without Authorization", async () => {
      const answer = await callVault(vault, "PUT", "/secrets/x", { token: null });
      assertVaultError(
        answer,
        401,
        "Unauthorized",
        "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.",
      );
      assert.equal(answer.headers.get("www-authenticate"), challenge);
      assert.ok(answer.headers.get("x-ms-request-id"));
    });

    it("answers 401 to a non-bearer Authorization header", async () => {
      const answer = await callVault(vault, "GET", "/secrets", {
        token: null,
        headers: { authorization: "Basic dXNlcjpwYXNz" },
      });
      assertVaultError(
        answer,
        401,
        "Unauthorized",
        "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.",
      );
    });

    it("accepts any bearer token", async () => {
      assert.equal((await callVault(vault, "GET", "/secrets", { token: "whatever" })).status, 200);
    });
  });

  describe("strictAuth", () => {
    let vault: LocalVault;
    before(async () => {
      vault = await startLocalVault({ tenantId, strictAuth: true });
    });
    after(() => vault.close());

    it("accepts tokens from the vault's credential and checks the cached verdict again", async () => {
      const token = await tokenOf(vault);
      assert.equal((await callVault(vault, "GET", "/secrets", { token })).status, 200);
      assert.equal((await callVault(vault, "GET", "/secrets", { token })).status, 200);
      const [, payload] = token.split(".");
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
      assert.equal(claims.aud, "https://vault.azure.net");
      assert.equal(claims.iss, `https://sts.windows.net/${tenantId}/`);
      assert.ok(claims.exp > Date.now() / 1000);
    });

    it("rejects a token it did not issue", async () => {
      const answer = await callVault(vault, "GET", "/secrets", { token: "not-a-jwt" });
      assertVaultError(answer, 401, "Unauthorized", /malformed/);
      assert.equal(answer.headers.get("www-authenticate"), challenge);
      const token = await tokenOf(vault);
      const [header, payload] = token.split(".");
      const forged = `${header}.${payload}.${Buffer.from("forged").toString("base64url")}`;
      assertVaultError(
        await callVault(vault, "GET", "/secrets", { token: forged }),
        401,
        "Unauthorized",
        /signature/,
      );
    });

    it("rejects a token of another vault", async () => {
      const other = await startLocalVault({ tenantId });
      try {
        assertVaultError(
          await callVault(vault, "GET", "/secrets", { token: await tokenOf(other) }),
          401,
          "Unauthorized",
          /signature/,
        );
      } finally {
        await other.close();
      }
    });

    it("rejects a token for another audience with AKV10022", async () => {
      const token = await tokenOf(vault, "https://storage.azure.com/.default");
      assertVaultError(
        await callVault(vault, "GET", "/secrets", { token }),
        401,
        "Unauthorized",
        "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://storage.azure.com.",
      );
    });
  });

  describe("the challenge's resource, from the name the vault was reached by", () => {
    const resourceFor = (scheme: "http" | "https", host: string): string => {
      const accepted = new HostPolicy(scheme, "127.0.0.1", [
        "myvault.vault.azure.net",
        "vault.internal.example",
      ]).accept(host);
      assert.ok(accepted, host);
      return challengeResource(accepted, scheme);
    };

    it("is the service's for addresses, localhost and *.vault.azure.net names", () => {
      for (const host of [
        "127.0.0.1:8443",
        "127.0.0.1",
        "[::1]:8443",
        "localhost:8443",
        "myvault.vault.azure.net",
        "myvault.vault.azure.net:8443",
      ]) {
        assert.equal(resourceFor("https", host), "https://vault.azure.net", host);
      }
    });

    it("is the parent domain, with the port when it is not the default, for other names", () => {
      assert.equal(resourceFor("https", "myvault.localhost:8443"), "https://localhost:8443");
      assert.equal(resourceFor("https", "MyVault.Localhost:8443"), "https://localhost:8443");
      assert.equal(resourceFor("https", "myvault.localhost"), "https://localhost");
      assert.equal(resourceFor("https", "myvault.localhost:443"), "https://localhost");
      assert.equal(resourceFor("https", "a.b.localhost:1"), "https://b.localhost:1");
      assert.equal(resourceFor("http", "myvault.localhost:8080"), "http://localhost:8080");
      assert.equal(resourceFor("https", "vault.internal.example"), "https://internal.example");
    });

    describe("over HTTP, with strictAuth", () => {
      let vault: LocalVault;
      let named: string;
      before(async () => {
        vault = await startLocalVault({ tenantId, strictAuth: true });
        named = `myvault.localhost:${new URL(vault.vaultUrl).port}`;
      });
      after(() => vault.close());

      it("challenges a request to myvault.localhost:<port> with http://localhost:<port>", async () => {
        const answer = await callVault(vault, "GET", "/secrets", {
          token: null,
          headers: { host: named },
        });
        assert.equal(answer.status, 401);
        assert.equal(
          answer.headers.get("www-authenticate"),
          `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="http://localhost:${new URL(vault.vaultUrl).port}"`,
        );
        // The same vault reached by its address answers as the service.
        const direct = await callVault(vault, "GET", "/secrets", { token: null });
        assert.equal(direct.headers.get("www-authenticate"), challenge);
      });

      it("accepts tokens for the challenged resource there, and for the service's anywhere", async () => {
        const resource = `http://localhost:${new URL(vault.vaultUrl).port}`;
        const local = await tokenOf(vault, `${resource}/.default`);
        const service = await tokenOf(vault);
        for (const token of [local, service]) {
          const answer = await callVault(vault, "GET", "/secrets", {
            token,
            headers: { host: named },
          });
          assert.equal(answer.status, 200, answer.text);
        }
        assert.equal((await callVault(vault, "GET", "/secrets", { token: service })).status, 200);
        // A token for the local resource is not one for the service's address.
        assertVaultError(
          await callVault(vault, "GET", "/secrets", { token: local }),
          401,
          "Unauthorized",
          `AKV10022: Invalid audience. Expected https://vault.azure.net, found: ${resource}.`,
        );
      });

      it("refuses a token for another resource at the name, naming the challenged one", async () => {
        const token = await tokenOf(vault, "https://localhost:1/.default");
        const answer = await callVault(vault, "GET", "/secrets", {
          token,
          headers: { host: named },
        });
        assertVaultError(
          answer,
          401,
          "Unauthorized",
          `AKV10022: Invalid audience. Expected http://localhost:${new URL(vault.vaultUrl).port}, found: https://localhost:1.`,
        );
        assert.match(
          answer.headers.get("www-authenticate") ?? "",
          /resource="http:\/\/localhost:\d+"/,
        );
      });
    });
  });

  describe("claimsChallenge", () => {
    let vault: LocalVault;
    before(async () => {
      vault = await startLocalVault({ tenantId, claimsChallenge: true, strictAuth: true });
    });
    after(() => vault.close());

    it("challenges the first request of each new token once", async () => {
      const token = await tokenOf(vault);
      const first = await callVault(vault, "GET", "/secrets", { token });
      assert.equal(first.status, 401);
      assert.equal(first.body.error.code, "Unauthorized");
      const header = first.headers.get("www-authenticate") ?? "";
      const match =
        /^Bearer realm="", authorization_uri="https:\/\/login\.microsoftonline\.com\/common\/oauth2\/authorize", error="insufficient_claims", claims="([A-Za-z0-9+/=]+)"$/.exec(
          header,
        );
      assert.ok(match, header);
      const claims = JSON.parse(Buffer.from(match[1], "base64").toString());
      assert.equal(claims.access_token.nbf.essential, true);
      assert.match(claims.access_token.nbf.value, /^\d+$/);
      assert.equal((await callVault(vault, "GET", "/secrets", { token })).status, 200);
    });

    it("accepts at once a token requested with the claims", async () => {
      const token = await tokenOf(vault, vaultScope, '{"access_token":{"nbf":{"essential":true}}}');
      assert.equal((await callVault(vault, "GET", "/secrets", { token })).status, 200);
    });

    /** A token from the vault's managed identity endpoint (App Service protocol). */
    async function identityToken(): Promise<string> {
      const response = await fetch(
        `${vault.identityEndpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net`,
        { headers: { "x-identity-header": vault.identityHeader } },
      );
      assert.equal(response.status, 200);
      return ((await response.json()) as { access_token: string }).access_token;
    }

    it("issues from the identity endpoint, after a challenge, a token with the claims it asked for", async () => {
      const first = await identityToken();
      assert.equal((await callVault(vault, "GET", "/secrets", { token: first })).status, 401);
      // A client that asks the identity endpoint for a new token (as MSAL does for claims).
      const answer = await identityToken();
      assert.notEqual(answer, first);
      assert.equal((await callVault(vault, "GET", "/secrets", { token: answer })).status, 200);
      // Once answered, the next new token is challenged again, once.
      const fresh = await identityToken();
      assert.equal((await callVault(vault, "GET", "/secrets", { token: fresh })).status, 401);
      assert.equal((await callVault(vault, "GET", "/secrets", { token: fresh })).status, 200);
      // The challenge of `fresh` was answered by sending it again: the next token is challenged.
      const later = await identityToken();
      assert.equal((await callVault(vault, "GET", "/secrets", { token: later })).status, 401);
    });
  });

  describe("managed identity endpoint", () => {
    let vault: LocalVault;
    before(async () => {
      vault = await startLocalVault({ tenantId, strictAuth: true });
    });
    after(() => vault.close());

    const resource = "https%3A%2F%2Fvault.azure.net";

    interface IdentityAnswer {
      status: number;
      body: Record<string, string>;
    }

    async function identity(
      query: string,
      headers: Record<string, string>,
    ): Promise<IdentityAnswer> {
      const response = await fetch(`${vault.identityEndpoint}?${query}`, { headers });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    }

    it("issues a token (App Service protocol) that passes strictAuth", async () => {
      const answer = await identity(`api-version=2019-08-01&resource=${resource}`, {
        "x-identity-header": vault.identityHeader,
      });
      assert.equal(answer.status, 200);
      assert.deepEqual(Object.keys(answer.body).sort(), [
        "access_token",
        "client_id",
        "expires_on",
        "resource",
        "token_type",
      ]);
      assert.equal(answer.body.token_type, "Bearer");
      assert.equal(answer.body.resource, "https://vault.azure.net");
      assert.match(answer.body.expires_on, /^\d+$/);
      assert.ok(Number(answer.body.expires_on) > Date.now() / 1000);
      const ok = await callVault(vault, "GET", "/secrets", { token: answer.body.access_token });
      assert.equal(ok.status, 200);
    });

    it("refuses every near miss of the identity header (one character off, a prefix, longer)", async () => {
      const header = vault.identityHeader;
      const flip = (text: string, at: number): string =>
        `${text.slice(0, at)}${text[at] === "a" ? "b" : "a"}${text.slice(at + 1)}`;
      const nearMisses = {
        "the last character off": flip(header, header.length - 1),
        "the first character off": flip(header, 0),
        "a middle character off": flip(header, header.length >> 1),
        "its first 8 characters": header.slice(0, 8),
        "all but its last character": header.slice(0, -1),
        "one character more": `${header}0`,
        "in upper case": header.toUpperCase(),
      };
      for (const [what, presented] of Object.entries(nearMisses)) {
        assert.notEqual(presented, header, what);
        const answer = await identity(`api-version=2019-08-01&resource=${resource}`, {
          "x-identity-header": presented,
        });
        assert.equal(answer.status, 401, what);
        assert.equal(answer.body.error, "unauthorized_client", what);
        assert.equal(answer.body.access_token, undefined, what);
      }
    });

    it("answers each refusal with the OAuth error and what was wrong", async () => {
      const header = { "x-identity-header": vault.identityHeader };
      const cases: Array<[string, Record<string, string>, number, string, string]> = [
        [
          `api-version=2019-08-01&resource=${resource}`,
          {},
          400,
          "invalid_request",
          "The x-identity-header request header is missing: send the IDENTITY_HEADER that keyvault-emulator printed (vault.identityHeader). ManagedIdentityCredential and DefaultAzureCredential send it when IDENTITY_ENDPOINT and IDENTITY_HEADER are set.",
        ],
        [
          `api-version=2019-08-01&resource=${resource}`,
          { "x-identity-header": "0123456789abcdef" },
          401,
          "unauthorized_client",
          "The x-identity-header value is not valid for this vault: set IDENTITY_HEADER to the value keyvault-emulator printed (vault.identityHeader). A vault started without --location or KEYVAULT_EMULATOR_IDENTITY_HEADER gets a new one at every start.",
        ],
        [
          `api-version=2018-02-01&resource=${resource}`,
          header,
          400,
          "invalid_request",
          "The api-version must be 2019-08-01 (the App Service managed identity protocol).",
        ],
        [
          "api-version=2019-08-01&resource=",
          header,
          400,
          "invalid_request",
          "The resource query parameter is missing: ask for resource=https://vault.azure.net.",
        ],
      ];
      for (const [query, headers, status, error, description] of cases) {
        const answer = await identity(query, headers);
        const body = answer.body as Record<string, unknown>;
        assert.match(String(body.correlationId), /^[0-9a-f-]{36}$/, query);
        assert.deepEqual(
          answer,
          {
            status,
            body: {
              error,
              error_description: description,
              statusCode: status,
              message: description,
              correlationId: body.correlationId,
            },
          },
          query,
        );
      }
    });

    it("says when the token expires, in Unix seconds, an hour from now", async () => {
      const before = Math.floor(Date.now() / 1000);
      const answer = await identity(`api-version=2019-08-01&resource=${resource}`, {
        "x-identity-header": vault.identityHeader,
      });
      const after = Math.ceil(Date.now() / 1000);
      const expiresOn = Number(answer.body.expires_on);
      assert.ok(expiresOn >= before + 3600 && expiresOn <= after + 3600, answer.body.expires_on);
    });

    it("refuses a wrong or missing identity header", async () => {
      const wrong = await identity(`api-version=2019-08-01&resource=${resource}`, {
        "x-identity-header": "nope-presented-header",
      });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, "unauthorized_client");
      const missing = await identity(`api-version=2019-08-01&resource=${resource}`, {});
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error, "invalid_request");
      const noResource = await identity("api-version=2019-08-01", {
        "x-identity-header": vault.identityHeader,
      });
      assert.equal(noResource.status, 400);
    });

    it("answers errors in OAuth's and App Service's shapes, saying what to send", async () => {
      const answers = {
        wrong: await identity(`api-version=2019-08-01&resource=${resource}`, {
          "x-identity-header": "nope-presented-header",
        }),
        missing: await identity(`api-version=2019-08-01&resource=${resource}`, {}),
        version: await identity(`api-version=2017-09-01&resource=${resource}`, {
          "x-identity-header": vault.identityHeader,
        }),
        resource: await identity("api-version=2019-08-01", {
          "x-identity-header": vault.identityHeader,
        }),
      };
      for (const [which, answer] of Object.entries(answers)) {
        const body = answer.body as unknown as Record<string, unknown>;
        assert.deepEqual(
          Object.keys(body).sort(),
          ["correlationId", "error", "error_description", "message", "statusCode"],
          which,
        );
        assert.equal(body.statusCode, answer.status, which);
        assert.equal(body.message, body.error_description, which);
        assert.match(String(body.correlationId), /^[0-9a-f-]{36}$/, which);
        const text = JSON.stringify(body);
        assert.ok(!text.includes("nope-presented-header"), "never the presented header");
        assert.ok(!text.includes(vault.identityHeader), "never the vault's header");
      }
      assert.match(
        answers.wrong.body.message,
        /set IDENTITY_HEADER to the value keyvault-emulator printed/,
      );
      assert.match(
        answers.missing.body.message,
        /send the IDENTITY_HEADER that keyvault-emulator printed/,
      );
      assert.match(answers.version.body.message, /must be 2019-08-01/);
      assert.match(answers.resource.body.message, /resource=https:\/\/vault\.azure\.net/);
    });
  });
});

describe("local vault: VaultAuth on its own", () => {
  const signingKey = Buffer.alloc(32, 7);
  const strict = (tenant = tenantId): VaultAuth =>
    new VaultAuth({ signingKey, tenantId: tenant, strict: true, claimsChallenge: false });
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  const partsOf = (token: string): Record<string, unknown>[] =>
    token
      .split(".")
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, "base64url").toString()));

  /** The message of the refusal `check` throws, or "accepted". */
  function verdictOf(auth: VaultAuth, authorization: string | undefined, resource?: string) {
    try {
      auth.check(authorization, resource);
      return "accepted";
    } catch (error) {
      return (error as { message?: string }).message;
    }
  }

  it("issues an HS256 JWT for the audience, from the local identity, without empty claims", () => {
    const auth = strict();
    const [header, payload] = partsOf(auth.issue("https://localhost:8443", "").token);
    assert.deepEqual(header, { alg: "HS256", typ: "JWT" });
    assert.equal(payload.aud, "https://localhost:8443");
    assert.equal(payload.appid, "11111111-1111-1111-1111-111111111111");
    assert.equal(localClientId, "11111111-1111-1111-1111-111111111111");
    assert.equal("xms_claims" in payload, false);
    assert.equal(partsOf(auth.issue(vaultResource, "c").token)[1].xms_claims, "c");
  });

  it("mints through its credential for the first scope, or the vault's resource without one", async () => {
    const credential = strict().credential();
    const [, forScope] = partsOf(
      (await credential.getToken(["https://localhost:8443/.default", "x"]))!.token,
    );
    assert.equal(forScope.aud, "https://localhost:8443");
    const [, forNone] = partsOf((await credential.getToken([]))!.token);
    assert.equal(forNone.aud, vaultResource);
  });

  it("drops /.default and every trailing slash from a scope", () => {
    assert.equal(resourceOfScope("https://vault.azure.net/.default"), vaultResource);
    assert.equal(resourceOfScope("https://vault.azure.net//"), vaultResource);
    assert.equal(resourceOfScope("https://vault.azure.net"), vaultResource);
  });

  it("refuses 'Bearer ' without a token, and reads a token after several spaces", () => {
    const auth = strict();
    assert.match(verdictOf(auth, "Bearer ")!, /AKV10000/);
    assert.equal(verdictOf(auth, `Bearer   ${auth.issue(vaultResource).token}`), "accepted");
  });

  it("refuses as malformed a token of two parts, or whose payload is not a JSON object", () => {
    const auth = strict();
    const payload = b64({ aud: vaultResource });
    for (const token of [
      `${b64({ alg: "HS256" })}.${payload}`,
      `${b64({ alg: "HS256" })}.${b64(null)}.sig`,
      `${b64({ alg: "HS256" })}.${b64(42)}.sig`,
      `${b64({ alg: "HS256" })}.not-json.sig`,
    ]) {
      assert.equal(verdictOf(auth, `Bearer ${token}`), "AKV10001: The access token is malformed.");
    }
  });

  it("refuses a token signed with its key but issued for another tenant", () => {
    const other = "11111111-2222-3333-4444-555555555555";
    const token = strict(other).issue(vaultResource).token;
    assert.equal(
      verdictOf(strict(), `Bearer ${token}`),
      `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${tenantId}/, found https://sts.windows.net/${other}/.`,
    );
  });

  it("asks for claims from a token whose claims are empty", () => {
    const auth = new VaultAuth({ signingKey, tenantId, strict: false, claimsChallenge: true });
    const token = `${b64({ alg: "none" })}.${b64({ xms_claims: "" })}.x`;
    assert.match(verdictOf(auth, `Bearer ${token}`)!, /AKV10024/);
    const withClaims = `${b64({ alg: "none" })}.${b64({ xms_claims: "c" })}.x`;
    assert.equal(verdictOf(auth, `Bearer ${withClaims}`), "accepted");
  });

  it("lets each open claims challenge be answered once: by a token with claims, or by the challenged token sent again", () => {
    const auth = new VaultAuth({ signingKey, tenantId, strict: false, claimsChallenge: true });
    const plain = (client: number): string => `Bearer ${b64({ alg: "none" })}.${b64({ client })}.x`;
    const identityClaims = (): unknown =>
      partsOf(auth.issueForIdentityEndpoint(vaultResource).token)[1].xms_claims;
    // Two clients, each challenged once.
    assert.match(verdictOf(auth, plain(1))!, /AKV10024/);
    assert.match(verdictOf(auth, plain(2))!, /AKV10024/);
    const answer = auth.issueForIdentityEndpoint(vaultResource).token;
    assert.equal(typeof partsOf(answer)[1].xms_claims, "string");
    // The first client's new token answers the oldest challenge, once however often it is sent.
    assert.equal(verdictOf(auth, `Bearer ${answer}`), "accepted");
    assert.equal(verdictOf(auth, `Bearer ${answer}`), "accepted");
    assert.equal(typeof identityClaims(), "string", "the second client's challenge is open");
    // The second client has no new token to give and sends its old one: that answers its own.
    assert.equal(verdictOf(auth, plain(2)), "accepted");
    assert.equal(identityClaims(), undefined, "no challenge open");
  });

  it("names a not-before of now, in Unix seconds, in its claims challenge", () => {
    const auth = new VaultAuth({ signingKey, tenantId, strict: true, claimsChallenge: true });
    const before = Math.floor(Date.now() / 1000);
    let header = "";
    try {
      auth.check(`Bearer ${auth.issue(vaultResource).token}`);
    } catch (error) {
      header = (error as { headers?: Record<string, string> }).headers?.["www-authenticate"] ?? "";
    }
    const claims = /claims="([^"]+)"/.exec(header)?.[1];
    assert.ok(claims, header);
    const nbf = Number(JSON.parse(Buffer.from(claims, "base64").toString()).access_token.nbf.value);
    assert.ok(nbf >= before && nbf <= Math.ceil(Date.now() / 1000), String(nbf));
  });

  it("keeps the verdicts of recent tokens, at most 10,000", () => {
    const auth = new VaultAuth({ signingKey, tenantId, strict: false, claimsChallenge: false });
    const verdicts = (auth as unknown as { verdicts: Map<string, unknown> }).verdicts;
    for (let index = 0; index < 5; index++) auth.check(`Bearer token-${index}`);
    assert.equal(verdicts.size, 5);
    for (let index = 5; index < 10_001; index++) auth.check(`Bearer token-${index}`);
    assert.ok(verdicts.size <= 10_000, String(verdicts.size));
  });

  it("gives a parent domain only to a name with one, never to an address", () => {
    assert.equal(challengesWithParent("myvault.localhost"), true);
    for (const name of ["[::ffff:127.0.0.1]", "127.0.0.1", "localhost", "v.vault.azure.net"]) {
      assert.equal(challengesWithParent(name), false, name);
    }
  });
});
