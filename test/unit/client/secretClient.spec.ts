import assert from "node:assert/strict";
import nock from "nock";
import {
  isRestError,
  RestError,
  SecretClient,
  type SecretClientOptions,
} from "../../../src/index.js";
import { fixedTokenCredential } from "../../helpers/fakeCredential.js";
import { apiVersion, createClient, primeChallenge, token, vault, vaultUrl } from "./helpers.js";

const version = "03bcccc7c8cf4546a0e3e21e52560441";
const realSetResponse = {
  value: "mysecretvalue",
  id: `${vaultUrl}/secrets/crpsecret/${version}`,
  attributes: {
    enabled: true,
    created: 1493938459,
    updated: 1493938459,
    recoveryLevel: "Recoverable+Purgeable",
  },
};

describe("SecretClient", () => {
  before(async () => {
    nock.disableNetConnect();
    await primeChallenge();
  });
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    assert.deepEqual(pending, [], "every expected request was made");
  });
  after(() => nock.enableNetConnect());

  describe("constructor", () => {
    const credential = fixedTokenCredential(token);
    const cases: Array<[string, string, SecretClientOptions, RegExp]> = [
      ["a relative URL", "myvault", {}, /not an absolute URL/],
      ["an empty URL", "", {}, /must be the URL of a vault/],
      [
        "http without allowInsecureConnection",
        "http://localhost:8443",
        {},
        /allowInsecureConnection/,
      ],
      [
        "http to a non-loopback host",
        "http://myvault.vault.azure.net",
        { allowInsecureConnection: true },
        /not loopback/,
      ],
      ["a path", "https://myvault.vault.azure.net/secrets", {}, /without a path/],
      ["a query", "https://myvault.vault.azure.net/?x=1", {}, /without a path, query/],
      ["another scheme", "ftp://myvault.vault.azure.net", {}, /must use https/],
    ];
    for (const [what, url, options, message] of cases) {
      it(`rejects ${what} with a TypeError`, () => {
        assert.throws(
          () => new SecretClient(url, credential, options),
          (error: unknown) => error instanceof TypeError && message.test(error.message),
        );
      });
    }

    it("accepts http to a loopback host with allowInsecureConnection", () => {
      for (const url of ["http://localhost:1", "http://127.0.0.1:2", "http://[::1]:3"]) {
        assert.equal(
          new SecretClient(url, credential, { allowInsecureConnection: true }).vaultUrl,
          url,
        );
      }
    });

    it("keeps the vault URL as given, trailing slash included", () => {
      assert.equal(new SecretClient(`${vaultUrl}/`, credential).vaultUrl, `${vaultUrl}/`);
    });

    it("builds a pipeline of only the policies Key Vault needs, ours in place of core's retry", () => {
      const client = createClient();
      const names = (
        client as unknown as {
          clientPipeline: { pipeline: { getOrderedPolicies(): Array<{ name: string }> } };
        }
      ).clientPipeline.pipeline
        .getOrderedPolicies()
        .map((policy) => policy.name);
      for (const absent of ["defaultRetryPolicy", "formDataPolicy", "multipartPolicy"]) {
        assert.ok(!names.includes(absent), `${absent} is not in ${names.join(", ")}`);
      }
      const retry = names.indexOf("keyVaultRetryPolicy");
      const auth = names.indexOf("keyVaultChallengeAuthenticationPolicy");
      assert.ok(retry >= 0 && auth > retry, `retry before authentication in ${names.join(", ")}`);
    });

    it("rejects a credential without getToken", () => {
      assert.throws(() => new SecretClient(vaultUrl, {} as never), /TokenCredential/);
    });

    it("rejects an unknown serviceVersion with a RangeError listing the known ones", () => {
      assert.throws(
        () => new SecretClient(vaultUrl, credential, { serviceVersion: "7.9" as never }),
        (error: unknown) => error instanceof RangeError && /7\.0, 7\.1/.test(error.message),
      );
    });
  });

  describe("setSecret", () => {
    it("PUTs the value and the given properties, and maps the real response", async () => {
      const notBefore = new Date("2030-01-01T00:00:00Z");
      let sentBody: unknown;
      let contentType: string | undefined;
      vault()
        .put("/secrets/crpsecret")
        .query({ "api-version": apiVersion })
        .reply(function (_uri, body) {
          sentBody = body;
          contentType = this.req.headers["content-type"] as string;
          return [200, realSetResponse];
        });
      const secret = await createClient().setSecret("crpsecret", "mysecretvalue", {
        contentType: "text/plain",
        enabled: true,
        notBefore,
        tags: { env: "test" },
      });
      assert.deepEqual(sentBody, {
        value: "mysecretvalue",
        contentType: "text/plain",
        attributes: { enabled: true, nbf: notBefore.getTime() / 1000 },
        tags: { env: "test" },
      });
      assert.equal(contentType, "application/json");
      // 4.x's shape: every key is an own key, holding undefined when the service sent nothing.
      assert.deepEqual(secret, {
        value: "mysecretvalue",
        name: "crpsecret",
        properties: {
          expiresOn: undefined,
          createdOn: new Date(1493938459 * 1000),
          updatedOn: new Date(1493938459 * 1000),
          enabled: true,
          notBefore: undefined,
          recoverableDays: undefined,
          recoveryLevel: "Recoverable+Purgeable",
          id: realSetResponse.id,
          contentType: undefined,
          tags: undefined,
          managed: undefined,
          previousVersion: undefined,
          vaultUrl,
          version,
          name: "crpsecret",
          certificateKeyId: undefined,
        },
      });
      // ... in 4.x's order too (console.log and JSON.stringify show it).
      assert.deepEqual(Object.keys(secret), ["value", "name", "properties"]);
      assert.deepEqual(Object.keys(secret.properties).slice(0, 3), [
        "expiresOn",
        "createdOn",
        "updatedOn",
      ]);
    });

    it("sends only the value when no option is given", async () => {
      let sentBody: unknown;
      vault()
        .put("/secrets/plain")
        .query(true)
        .reply((_uri, body) => {
          sentBody = body;
          return [200, { ...realSetResponse, id: `${vaultUrl}/secrets/plain/${version}` }];
        });
      await createClient().setSecret("plain", "v");
      assert.deepEqual(sentBody, { value: "v" });
    });

    it("rejects a non-string value before any request", async () => {
      await assert.rejects(createClient().setSecret("a", 42 as unknown as string), TypeError);
    });
  });

  describe("argument checks happen before any request", () => {
    const client = createClient();
    for (const name of ["", "a/b", "a?b", "a#b", "a\\b", "..", "."]) {
      it(`rejects the name ${JSON.stringify(name)}`, async () => {
        await assert.rejects(client.getSecret(name), TypeError);
        await assert.rejects(client.setSecret(name, "v"), TypeError);
        await assert.rejects(client.getDeletedSecret(name), TypeError);
        await assert.rejects(client.purgeDeletedSecret(name), TypeError);
        await assert.rejects(client.backupSecret(name), TypeError);
        await assert.rejects(client.beginDeleteSecret(name), TypeError);
        await assert.rejects(client.beginRecoverDeletedSecret(name), TypeError);
        await assert.rejects(client.updateSecretProperties(name, ""), TypeError);
        // List methods never throw; the first next() (of the pager or of byPage()) rejects.
        const versions = client.listPropertiesOfSecretVersions(name);
        await assert.rejects(versions.next(), TypeError);
        await assert.rejects(
          client.listPropertiesOfSecretVersions(name).byPage().next(),
          TypeError,
        );
      });
    }
    it("rejects (does not throw) so that .catch() sees argument errors", async () => {
      let caught: unknown;
      await client.getSecret("").catch((error: unknown) => {
        caught = error;
      });
      assert.ok(caught instanceof TypeError);
    });
    it("rejects a name that is not a string", async () => {
      await assert.rejects(client.getSecret(undefined as unknown as string), /non-empty string/);
    });
    it("rejects a version that would change the path", async () => {
      await assert.rejects(client.getSecret("a", { version: "v/../b" }), TypeError);
      await assert.rejects(client.updateSecretProperties("a", "x?y"), TypeError);
    });
    it("rejects a missing secretVersion for update", async () => {
      await assert.rejects(client.updateSecretProperties("a", undefined as never), /secretVersion/);
    });
    it("rejects an invalid date", () => {
      return assert.rejects(
        client.setSecret("a", "v", { expiresOn: new Date("nope") }),
        (error: unknown) => error instanceof TypeError && /expiresOn/.test(error.message),
      );
    });
    it("rejects a backup that is not bytes", async () => {
      await assert.rejects(client.restoreSecretBackup("x" as never), TypeError);
      await assert.rejects(client.restoreSecretBackup(new Uint8Array()), TypeError);
    });
    it("rejects a bad intervalInMs and resumeFrom", async () => {
      await assert.rejects(client.beginDeleteSecret("a", { intervalInMs: -1 }), RangeError);
      await assert.rejects(client.beginDeleteSecret("a", { resumeFrom: 5 as never }), TypeError);
    });
    it("rejects maxPageSize outside 1..25 on the first next() of byPage()", async () => {
      const pages = client.listPropertiesOfSecrets().byPage({ maxPageSize: 26 });
      await assert.rejects(pages.next(), RangeError);
      await assert.rejects(
        client.listDeletedSecrets().byPage({ maxPageSize: 0 }).next(),
        RangeError,
      );
      await assert.rejects(
        client.listPropertiesOfSecretVersions("a").byPage({ maxPageSize: 1.5 }).next(),
        RangeError,
      );
    });
  });

  describe("getSecret", () => {
    it("gets the latest version with an empty version segment", async () => {
      vault()
        .get("/secrets/crpsecret/")
        .query({ "api-version": apiVersion })
        .reply(200, realSetResponse);
      const secret = await createClient().getSecret("crpsecret");
      assert.equal(secret.value, "mysecretvalue");
      assert.equal(secret.properties.version, version);
    });

    it("gets a version and passes outContentType", async () => {
      vault()
        .get(`/secrets/crpsecret/${version}`)
        .query({ "api-version": apiVersion, outContentType: "application/x-pem-file" })
        .reply(200, realSetResponse);
      const secret = await createClient().getSecret("crpsecret", {
        version,
        outContentType: "application/x-pem-file",
      });
      assert.equal(secret.value, "mysecretvalue");
      assert.equal(secret.name, "crpsecret");
      assert.equal(secret.properties.version, version);
      assert.deepEqual(secret.properties.createdOn, new Date(1493938459000));
    });

    it("sends the chosen serviceVersion", async () => {
      vault()
        .get("/secrets/a/")
        .query({ "api-version": "7.4" })
        .reply(200, { ...realSetResponse, id: `${vaultUrl}/secrets/a/${version}` });
      const secret = await createClient({ serviceVersion: "7.4" }).getSecret("a");
      assert.equal(secret.name, "a");
      assert.equal(secret.properties.version, version);
      assert.equal(secret.value, "mysecretvalue");
    });

    it("maps kid, managed, tags, contentType, dates and previousVersion", async () => {
      vault()
        .get("/secrets/cert/")
        .query(true)
        .reply(200, {
          value: "pem",
          id: `${vaultUrl}/secrets/cert/${version}`,
          contentType: "application/x-pem-file",
          kid: `${vaultUrl}/keys/cert/${version}`,
          managed: true,
          tags: { a: "b" },
          previousVersion: "0".repeat(32),
          attributes: { enabled: true, nbf: 1, exp: 2, recoverableDays: 90 },
        });
      const { properties } = await createClient().getSecret("cert");
      assert.equal(properties.certificateKeyId, `${vaultUrl}/keys/cert/${version}`);
      assert.equal(properties.managed, true);
      assert.deepEqual(properties.tags, { a: "b" });
      assert.equal(properties.contentType, "application/x-pem-file");
      assert.deepEqual(properties.notBefore, new Date(1000));
      assert.deepEqual(properties.expiresOn, new Date(2000));
      assert.equal(properties.recoverableDays, 90);
      assert.equal(properties.previousVersion, "0".repeat(32));
    });

    it("turns a 404 into a RestError with the service's code and message", async () => {
      const message =
        "A secret with (name/id) missing was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";
      vault()
        .get("/secrets/missing/")
        .query(true)
        .reply(404, { error: { code: "SecretNotFound", message } });
      await assert.rejects(createClient().getSecret("missing"), (error: unknown) => {
        assert.ok(isRestError(error));
        assert.equal(error.statusCode, 404);
        assert.equal(error.code, "SecretNotFound");
        assert.equal(error.message, message);
        // 4.x's deserialized shape: code, message and innerError, each an own key.
        assert.deepEqual(error.details, {
          error: { code: "SecretNotFound", message, innerError: undefined },
        });
        return true;
      });
    });

    it("turns a disabled secret's 403 into a RestError keeping the inner error", async () => {
      const body = {
        error: {
          code: "Forbidden",
          message: "Operation get is not allowed on a disabled secret.",
          innererror: { code: "SecretDisabled" },
        },
      };
      vault().get("/secrets/off/").query(true).reply(403, body);
      await assert.rejects(createClient().getSecret("off"), (error: unknown) => {
        assert.ok(error instanceof RestError);
        assert.equal(error.statusCode, 403);
        assert.equal(error.code, "Forbidden");
        const details = error.details as {
          error: { innererror?: { code: string }; innerError?: { code: string } };
        };
        assert.equal(details.error.innererror?.code, "SecretDisabled");
        assert.equal(details.error.innerError?.code, "SecretDisabled", "4.x reads innerError");
        // Exactly 4.x's own keys; the wire spelling is a non-enumerable alias.
        assert.deepEqual(details, {
          error: {
            code: "Forbidden",
            message: "Operation get is not allowed on a disabled secret.",
            innerError: { code: "SecretDisabled", message: undefined, innerError: undefined },
          },
        });
        return true;
      });
    });

    it("names the status when a proxy answers with HTML", async () => {
      vault()
        .get("/secrets/a/")
        .query(true)
        .reply(400, "<html>Bad gateway</html>", { "content-type": "text/html" });
      await assert.rejects(createClient().getSecret("a"), (error: unknown) => {
        assert.ok(isRestError(error));
        assert.equal(error.statusCode, 400);
        assert.match(error.message, /400.*not JSON \(text\/html\)/);
        return true;
      });
    });

    it("reports a 200 whose body is not JSON as a parse error", async () => {
      vault()
        .get("/secrets/a/")
        .query(true)
        .reply(200, "{truncated", { "content-type": "application/json" });
      await assert.rejects(createClient().getSecret("a"), (error: unknown) => {
        assert.ok(isRestError(error));
        assert.equal(error.code, RestError.PARSE_ERROR);
        assert.match(error.message, /not valid JSON/);
        return true;
      });
    });

    it("reports a wrongly typed field by name", async () => {
      vault()
        .get("/secrets/a/")
        .query(true)
        .reply(200, {
          id: `${vaultUrl}/secrets/a/${version}`,
          attributes: { created: "yesterday" },
        });
      await assert.rejects(createClient().getSecret("a"), /"attributes\.created" is a string/);
    });

    it("reports a response without id", async () => {
      vault().get("/secrets/a/").query(true).reply(200, { value: "x" });
      await assert.rejects(createClient().getSecret("a"), /no "id"/);
    });

    it("calls onResponse with the raw response and the parsed body", async () => {
      vault().get("/secrets/a/").query(true).reply(200, realSetResponse);
      let status: number | undefined;
      let parsed: unknown;
      await createClient().getSecret("a", {
        onResponse: (response) => {
          status = response.status;
          parsed = response.parsedBody;
        },
      });
      assert.equal(status, 200);
      assert.deepEqual(parsed, realSetResponse);
    });

    it("sends the caller's headers and honours an already aborted signal", async () => {
      vault()
        .get("/secrets/a/")
        .query(true)
        .matchHeader("x-custom", "yes")
        .reply(200, realSetResponse);
      await createClient().getSecret("a", { requestOptions: { headers: { "x-custom": "yes" } } });
      await assert.rejects(
        createClient().getSecret("a", { abortSignal: AbortSignal.abort() }),
        (error: unknown) => (error as Error).name === "AbortError",
      );
    });
  });

  describe("updateSecretProperties", () => {
    it("PATCHes only the given fields and returns properties without value", async () => {
      let sentBody: unknown;
      vault()
        .patch(`/secrets/crpsecret/${version}`)
        .query(true)
        .reply((_uri, body) => {
          sentBody = body;
          const { value: _value, ...rest } = realSetResponse;
          return [200, { ...rest, attributes: { ...rest.attributes, enabled: false } }];
        });
      const properties = await createClient().updateSecretProperties("crpsecret", version, {
        enabled: false,
      });
      assert.deepEqual(sentBody, { attributes: { enabled: false } });
      assert.equal(properties.enabled, false);
      assert.equal("value" in properties, false);
    });

    it("updates the latest version with an empty version", async () => {
      let sentBody: unknown;
      vault()
        .patch("/secrets/crpsecret/")
        .query(true)
        .reply((_uri, body) => {
          sentBody = body;
          return [200, realSetResponse];
        });
      const properties = await createClient().updateSecretProperties("crpsecret", "", {
        tags: {},
      });
      assert.deepEqual(sentBody, { tags: {} });
      assert.equal(properties.version, version);
      assert.equal(properties.enabled, true);
      assert.deepEqual(properties.updatedOn, new Date(1493938459000));
      assert.equal("value" in properties, false);
    });
  });

  describe("deleted secrets", () => {
    const deletedBody = {
      ...realSetResponse,
      value: undefined,
      recoveryId: `${vaultUrl}/deletedsecrets/crpsecret`,
      deletedDate: 1493938433,
      scheduledPurgeDate: 1501714433,
    };

    it("getDeletedSecret maps recoveryId and the dates on the secret and its properties", async () => {
      vault().get("/deletedsecrets/crpsecret").query(true).reply(200, deletedBody);
      const deleted = await createClient().getDeletedSecret("crpsecret");
      assert.equal(deleted.name, "crpsecret");
      assert.equal(deleted.recoveryId, deletedBody.recoveryId);
      assert.deepEqual(deleted.deletedOn, new Date(1493938433000));
      assert.deepEqual(deleted.scheduledPurgeDate, new Date(1501714433000));
      assert.equal(deleted.properties.recoveryId, deletedBody.recoveryId);
      assert.deepEqual(deleted.properties.deletedOn, new Date(1493938433000));
      // As 4.x: value is an own key holding undefined (the service sends no value here).
      assert.ok(Object.hasOwn(deleted, "value"));
      assert.equal(deleted.value, undefined);
    });

    it("purgeDeletedSecret expects 204", async () => {
      vault().delete("/deletedsecrets/crpsecret").query(true).reply(204);
      assert.equal(await createClient().purgeDeletedSecret("crpsecret"), undefined);
    });

    it("purgeDeletedSecret reports a 403 on a non-purgeable vault", async () => {
      vault()
        .delete("/deletedsecrets/crpsecret")
        .query(true)
        .reply(403, { error: { code: "Forbidden", message: "Operation purge is not allowed." } });
      await assert.rejects(createClient().purgeDeletedSecret("crpsecret"), { statusCode: 403 });
    });

    it("beginDeleteSecret deletes, polls through 404 and completes with the deleted secret", async () => {
      vault().delete("/secrets/crpsecret").query(true).reply(200, deletedBody);
      vault()
        .get("/deletedsecrets/crpsecret")
        .query(true)
        .reply(404, {
          error: { code: "SecretNotFound", message: "Deleted Secret not found: crpsecret" },
        });
      vault().get("/deletedsecrets/crpsecret").query(true).reply(200, deletedBody);
      const poller = await createClient().beginDeleteSecret("crpsecret", { intervalInMs: 1 });
      const deleted = await poller.pollUntilDone();
      assert.equal(deleted.recoveryId, deletedBody.recoveryId);
      assert.equal(poller.isDone(), true);
    });

    it("beginRecoverDeletedSecret recovers and polls the secret until it is back", async () => {
      const { value: _value, ...bundle } = realSetResponse;
      vault().post("/deletedsecrets/crpsecret/recover").query(true).reply(200, bundle);
      vault()
        .get("/secrets/crpsecret/")
        .query(true)
        .reply(404, { error: { code: "SecretNotFound", message: "not yet" } });
      vault().get("/secrets/crpsecret/").query(true).reply(200, realSetResponse);
      const poller = await createClient().beginRecoverDeletedSecret("crpsecret", {
        intervalInMs: 1,
      });
      const properties = await poller.pollUntilDone();
      assert.equal(properties.name, "crpsecret");
      assert.equal(properties.version, version);
    });
  });

  describe("backup and restore", () => {
    it("decodes the base64url blob and sends it back encoded", async () => {
      const bytes = new Uint8Array([0xfb, 0xff, 0x00, 0x01, 0x3e]);
      vault()
        .post("/secrets/crpsecret/backup")
        .query(true)
        .reply(200, { value: Buffer.from(bytes).toString("base64url") });
      let sent: unknown;
      vault()
        .post("/secrets/restore")
        .query(true)
        .reply((_uri, body) => {
          sent = body;
          return [200, realSetResponse];
        });
      const client = createClient();
      const backup = await client.backupSecret("crpsecret");
      // A Node Buffer, as 4.x gives: its users call backup.toString("base64").
      assert.ok(Buffer.isBuffer(backup));
      assert.deepEqual(new Uint8Array(backup), bytes);
      assert.equal(backup.toString("base64"), Buffer.from(bytes).toString("base64"));
      // Its own memory, not a slice of Node's shared pool.
      assert.equal(backup.byteOffset, 0);
      assert.equal(backup.buffer.byteLength, bytes.length);
      // restoreSecretBackup keeps accepting any Uint8Array, not only a Buffer.
      const restored = await client.restoreSecretBackup(new Uint8Array(backup));
      assert.deepEqual(sent, { value: "-_8AAT4" });
      assert.equal(restored.name, "crpsecret");
    });

    it("reports the service's restore conflict", async () => {
      vault()
        .post("/secrets/restore")
        .query(true)
        .reply(409, { error: { code: "Conflict", message: "Secret already exists." } });
      await assert.rejects(createClient().restoreSecretBackup(new Uint8Array([1])), {
        statusCode: 409,
        code: "Conflict",
      });
    });
  });

  describe("lists", () => {
    const item = (name: string) => ({
      id: `${vaultUrl}/secrets/${name}`,
      attributes: { enabled: true, created: 1, updated: 2 },
    });

    it("follows nextLink through empty pages, on the vault's origin, with continuation tokens", async () => {
      vault()
        .get("/secrets")
        .query({ "api-version": apiVersion, maxresults: "2" })
        .reply(200, {
          value: [item("a"), item("b")],
          nextLink: `https://myvault.vault.azure.net:443/secrets?api-version=${apiVersion}&$skiptoken=T1&maxresults=2`,
        });
      vault()
        .get("/secrets")
        .query({ "api-version": apiVersion, $skiptoken: "T1", maxresults: "2" })
        .reply(200, {
          value: [],
          nextLink: `https://other-host.example.com/secrets?api-version=${apiVersion}&$skiptoken=T2&maxresults=2`,
        });
      vault()
        .get("/secrets")
        .query({ "api-version": apiVersion, $skiptoken: "T2", maxresults: "2" })
        .reply(200, { value: [item("c")], nextLink: null });
      const pages = [];
      for await (const page of createClient()
        .listPropertiesOfSecrets()
        .byPage({ maxPageSize: 2 })) {
        pages.push(page);
      }
      assert.deepEqual(
        pages.map((page) => page.map((p) => p.name)),
        [["a", "b"], [], ["c"]],
      );
      assert.match(
        pages[0]!.continuationToken!,
        /^https:\/\/myvault\.vault\.azure\.net\/secrets\?.*T1/,
      );
      assert.match(
        pages[1]!.continuationToken!,
        /^https:\/\/myvault\.vault\.azure\.net\/secrets\?.*T2/,
      );
      assert.equal(pages[2]!.continuationToken, undefined);
      assert.equal(pages[0]![0]!.vaultUrl, vaultUrl);
      assert.equal(pages[0]![0]!.version, undefined);
    });

    it("resumes from a continuation token of another pager", async () => {
      vault()
        .get("/secrets/a/versions")
        .query({ "api-version": apiVersion, $skiptoken: "T9", maxresults: "25" })
        .reply(200, { value: [{ id: `${vaultUrl}/secrets/a/${version}` }] });
      const token = `${vaultUrl}/secrets/a/versions?api-version=${apiVersion}&$skiptoken=T9&maxresults=25`;
      const names = [];
      for await (const page of createClient()
        .listPropertiesOfSecretVersions("a")
        .byPage({ continuationToken: token })) {
        names.push(...page.map((p) => p.version));
      }
      assert.deepEqual(names, [version]);
    });

    it("lists deleted secrets as DeletedSecret", async () => {
      vault()
        .get("/deletedsecrets")
        .query(true)
        .reply(200, {
          value: [
            {
              id: `${vaultUrl}/secrets/gone`,
              recoveryId: `${vaultUrl}/deletedsecrets/gone`,
              deletedDate: 10,
              scheduledPurgeDate: 20,
            },
          ],
        });
      const all = [];
      for await (const deleted of createClient().listDeletedSecrets()) all.push(deleted);
      assert.equal(all.length, 1);
      assert.equal(all[0]!.name, "gone");
      assert.deepEqual(all[0]!.scheduledPurgeDate, new Date(20000));
    });

    it("reports a page whose value is not an array", async () => {
      vault()
        .get("/secrets")
        .query(true)
        .reply(200, { value: { not: "an array" } });
      await assert.rejects(
        createClient().listPropertiesOfSecrets().next(),
        /"value" is not an array/,
      );
    });
  });

  describe("retry", () => {
    it("retries a 429 without Retry-After and sends the same body every time", async () => {
      const bodies: unknown[] = [];
      const throttled = {
        error: {
          code: "Throttled",
          message:
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        },
      };
      vault()
        .put("/secrets/t")
        .query(true)
        .times(2)
        .reply((_uri, body) => {
          bodies.push(body);
          return [429, throttled];
        });
      vault()
        .put("/secrets/t")
        .query(true)
        .reply((_uri, body) => {
          bodies.push(body);
          return [200, { ...realSetResponse, id: `${vaultUrl}/secrets/t/${version}` }];
        });
      await createClient().setSecret("t", "value-1");
      assert.deepEqual(bodies, [{ value: "value-1" }, { value: "value-1" }, { value: "value-1" }]);
    });

    it("gives up after maxRetries with the service's 429 as a RestError", async () => {
      vault()
        .get("/secrets/t/")
        .query(true)
        .times(3)
        .reply(429, { error: { code: "Throttled", message: "Too many" } }, { "Retry-After": "0" });
      await assert.rejects(
        createClient({ retryOptions: { maxRetries: 2, retryDelayInMs: 1 } }).getSecret("t"),
        { statusCode: 429, code: "Throttled" },
      );
    });
  });

  describe("sendRequest", () => {
    it("resolves a relative URL, adds api-version and the token, and returns error statuses", async () => {
      const { createPipelineRequest } = await import("@azure/core-rest-pipeline");
      vault()
        .get("/secrets")
        .query({ maxresults: "1", "api-version": apiVersion })
        .reply(404, { error: { code: "NotFound" } });
      const response = await createClient().sendRequest(
        createPipelineRequest({ url: "/secrets?maxresults=1", method: "GET" }),
      );
      assert.equal(response.status, 404);
    });

    it("leaves the caller's request as it was: URL and headers", async () => {
      const { createPipelineRequest } = await import("@azure/core-rest-pipeline");
      vault().get("/secrets").query({ "api-version": apiVersion }).reply(200, { value: [] });
      const request = createPipelineRequest({ url: `${vaultUrl}/secrets`, method: "GET" });
      request.headers.set("x-caller", "1");
      const response = await createClient().sendRequest(request);
      assert.equal(response.status, 200);
      assert.equal(request.url, `${vaultUrl}/secrets`);
      assert.deepEqual(request.headers.toJSON(), { "x-caller": "1" });
      assert.notEqual(response.request, request);
    });

    it("refuses a URL on another origin", async () => {
      const { createPipelineRequest } = await import("@azure/core-rest-pipeline");
      await assert.rejects(
        createClient().sendRequest(
          createPipelineRequest({ url: "https://evil.example.com/secrets", method: "GET" }),
        ),
        TypeError,
      );
    });
  });
});
