import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect } from "node:tls";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertVaultError, callVault, pause } from "./localVaultTestKit.js";

/** An answer read from a raw socket. */
interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * Sends one request exactly as written (Host and all) and reads the answer.
 * @param vault - the vault
 * @param head - request line and headers, without the final blank line
 * @param body - body text, if any
 * @returns the answer
 */
function raw(vault: LocalVault, head: string[], body = ""): Promise<RawAnswer> {
  const port = Number(new URL(vault.vaultUrl).port);
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    socket.on("error", reject);
    socket.on("end", () => {
      const [headText, ...rest] = text.split("\r\n\r\n");
      const [statusLine, ...lines] = headText.split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const bodyText = rest.join("\r\n\r\n");
      resolve({
        status: Number(statusLine.split(" ")[1]),
        headers,
        body: bodyText === "" ? undefined : JSON.parse(bodyText),
      });
    });
    const length = body === "" ? [] : [`Content-Length: ${Buffer.byteLength(body)}`];
    socket.end([...head, ...length, "Connection: close", "", body].join("\r\n"));
  });
}

function hostOf(vault: LocalVault): string {
  return new URL(vault.vaultUrl).host;
}

function assertNoCors(headers: Record<string, string> | Headers): void {
  const names = headers instanceof Headers ? [...headers.keys()] : Object.keys(headers);
  assert.deepEqual(
    names.filter((name) => name.startsWith("access-control-")),
    [],
  );
}

const day = 86_400_000;

describe("local vault: secure by default", () => {
  let vault: LocalVault;
  before(async () => {
    vault = await startLocalVault({ hostnames: ["keyvault", "Vault.Example.Test"] });
  });
  beforeEach(() => vault.reset());
  after(() => vault.close());

  describe("Host", () => {
    it("refuses a foreign Host (DNS rebinding) with 421 before reading anything", async () => {
      await callVault(vault, "PUT", "/secrets/b1", { body: { value: "s3cret" } });
      const port = new URL(vault.vaultUrl).port;
      const answer = await raw(vault, [
        "GET /secrets/b1?api-version=7.6 HTTP/1.1",
        `Host: rebind.evil.example:${port}`,
        "Authorization: Bearer anything",
      ]);
      assert.equal(answer.status, 421);
      assert.equal(answer.body.error.code, "MisdirectedRequest");
      assert.match(answer.body.error.message, /--hostname/);
      assert.ok(!JSON.stringify(answer.body).includes("s3cret"));
    });

    it("changes nothing for a foreign Host", async () => {
      const answer = await raw(
        vault,
        [
          "PUT /secrets/planted?api-version=7.6 HTTP/1.1",
          "Host: evil.example",
          "Authorization: Bearer anything",
          "Content-Type: application/json",
        ],
        JSON.stringify({ value: "x" }),
      );
      assert.equal(answer.status, 421);
      assert.equal((await callVault(vault, "GET", "/secrets/planted")).status, 404);
    });

    for (const host of ["evil.com/x?", "", "a b", "[::1", "127.0.0.1:99999", "localhost:8443:1"]) {
      it(`refuses the malformed Host ${JSON.stringify(host)} with 421`, async () => {
        const answer = await raw(vault, [
          "GET /secrets?api-version=7.6 HTTP/1.1",
          `Host: ${host}`,
          "Authorization: Bearer t",
        ]);
        assert.equal(answer.status, 421);
        assert.equal(answer.body.error.code, "MisdirectedRequest");
      });
    }

    it("refuses a request without Host (HTTP/1.0)", async () => {
      const answer = await raw(vault, [
        "GET /secrets?api-version=7.6 HTTP/1.0",
        "Authorization: Bearer t",
      ]);
      assert.equal(answer.status, 421);
    });

    it("serves loopback names and --hostname names, with ids built from the Host", async () => {
      const port = new URL(vault.vaultUrl).port;
      for (const host of [
        `localhost:${port}`,
        `127.0.0.1:${port}`,
        `[::1]:${port}`,
        `keyvault:${port}`,
        `vault.example.test:${port}`,
      ]) {
        const answer = await raw(
          vault,
          [
            "PUT /secrets/named?api-version=7.6 HTTP/1.1",
            `Host: ${host}`,
            "Authorization: Bearer t",
            "Content-Type: application/json",
          ],
          JSON.stringify({ value: "v" }),
        );
        assert.equal(answer.status, 200, host);
        assert.match(
          answer.body.id,
          new RegExp(`^http://${host.replace(/[[\].]/g, "\\$&")}/secrets/named/`),
        );
      }
    });

    it("leaves the scheme's default port out of ids, and names it in nextLinks as the service does", async () => {
      for (const name of ["p1", "p2"]) {
        await callVault(vault, "PUT", `/secrets/${name}`, { body: { value: "v" } });
      }
      const set = await raw(
        vault,
        [
          "PUT /secrets/p3?api-version=7.6 HTTP/1.1",
          "Host: localhost:80",
          "Authorization: Bearer t",
          "Content-Type: application/json",
        ],
        JSON.stringify({ value: "v" }),
      );
      assert.match(set.body.id, /^http:\/\/localhost\/secrets\/p3\/[0-9a-f]{32}$/);
      const list = await raw(vault, [
        "GET /secrets?api-version=7.6&maxresults=1 HTTP/1.1",
        "Host: localhost",
        "Authorization: Bearer t",
      ]);
      assert.equal(list.body.value[0].id, "http://localhost/secrets/p1");
      assert.match(list.body.nextLink, /^http:\/\/localhost:80\/secrets\?api-version=7\.6&/);
    });
  });

  describe("other origins", () => {
    it("refuses a request with a foreign Origin on every route (403, no CORS headers)", async () => {
      await callVault(vault, "PUT", "/secrets/kept", { body: { value: "v" } });
      const origin = { origin: "http://evil.example" };
      const answers = [
        await callVault(vault, "GET", "/secrets/kept", { headers: origin }),
        await callVault(vault, "GET", "/secrets", { headers: origin }),
        await callVault(vault, "DELETE", "/secrets/kept", { headers: origin }),
        await callVault(vault, "POST", "/__local/reset", { headers: origin, apiVersion: null }),
        await callVault(vault, "GET", "/__local/identity/token", {
          headers: { ...origin, "x-identity-header": vault.identityHeader },
          apiVersion: "2019-08-01",
          query: "resource=https://vault.azure.net",
        }),
      ];
      for (const answer of answers) {
        assertVaultError(answer, 403, "Forbidden", /other origins/);
        assertNoCors(answer.headers);
      }
      const kept = await callVault(vault, "GET", "/secrets/kept");
      assert.equal(kept.status, 200);
      assert.equal(kept.body.value, "v");
    });

    it("refuses Origin: null and a preflight, and never sends CORS headers", async () => {
      const nullOrigin = await callVault(vault, "GET", "/secrets", { headers: { origin: "null" } });
      assert.equal(nullOrigin.status, 403);
      const preflight = await raw(vault, [
        "OPTIONS /secrets/x?api-version=7.6 HTTP/1.1",
        `Host: ${hostOf(vault)}`,
        "Origin: http://evil.example",
        "Access-Control-Request-Method: PUT",
        "Access-Control-Request-Headers: authorization,content-type",
      ]);
      assert.equal(preflight.status, 403);
      assertNoCors(preflight.headers);
    });

    it("refuses a browser's cross-site simple POST to the test controls (Sec-Fetch-Site, text/plain)", async () => {
      await callVault(vault, "PUT", "/secrets/survivor", { body: { value: "v" } });
      const answer = await raw(
        vault,
        [
          "POST /__local/reset HTTP/1.1",
          `Host: ${hostOf(vault)}`,
          "Content-Type: text/plain;charset=UTF-8",
          "Sec-Fetch-Site: cross-site",
          "Sec-Fetch-Mode: no-cors",
          "Sec-Fetch-Dest: empty",
        ],
        "{}",
      );
      assert.equal(answer.status, 403);
      assert.equal((await callVault(vault, "GET", "/secrets/survivor")).status, 200);
    });

    it("refuses an Origin on another port of the vault's own host, on every route", async () => {
      await callVault(vault, "PUT", "/secrets/kept", { body: { value: "v" } });
      const own = new URL(vault.vaultUrl);
      const port = Number(own.port);
      // Cookies and "site" ignore the port; an origin does not: another server on this machine
      // (any port of 127.0.0.1 or localhost, the scheme's default port) is another origin.
      const neighbours = [
        `http://${own.hostname}:${port === 65535 ? port - 1 : port + 1}`,
        `http://${own.hostname}`,
        `http://${own.hostname}:80`,
        `https://${own.host}`,
      ];
      for (const origin of neighbours) {
        const answers = [
          await callVault(vault, "GET", "/secrets/kept", { headers: { origin } }),
          await callVault(vault, "POST", "/__local/reset", {
            headers: { origin },
            apiVersion: null,
          }),
          await callVault(vault, "GET", "/__local/identity/token", {
            headers: { origin, "x-identity-header": vault.identityHeader },
            apiVersion: "2019-08-01",
            query: "resource=https://vault.azure.net",
          }),
        ];
        for (const answer of answers) {
          assertVaultError(answer, 403, "Forbidden", /other origins/);
          assertNoCors(answer.headers);
        }
      }
      assert.equal((await callVault(vault, "GET", "/secrets/kept")).status, 200, "reset refused");
    });

    it("refuses Sec-Fetch-Site: same-site (another port of the same host is the same site)", async () => {
      await callVault(vault, "PUT", "/secrets/survivor", { body: { value: "v" } });
      const sameSite = { "sec-fetch-site": "same-site" };
      const read = await callVault(vault, "GET", "/secrets/survivor", { headers: sameSite });
      assertVaultError(read, 403, "Forbidden", /other origins/);
      const reset = await callVault(vault, "POST", "/__local/reset", {
        headers: sameSite,
        body: {},
        apiVersion: null,
      });
      assertVaultError(reset, 403, "Forbidden", /other origins/);
      assert.equal((await callVault(vault, "GET", "/secrets/survivor")).status, 200);
      for (const site of ["same-origin", "none"]) {
        const own = await callVault(vault, "GET", "/secrets/survivor", {
          headers: { "sec-fetch-site": site },
        });
        assert.equal(own.status, 200, site);
      }
    });

    it("serves a request from the vault's own origin", async () => {
      const answer = await callVault(vault, "GET", "/secrets", {
        headers: { origin: vault.vaultUrl, "sec-fetch-site": "same-origin" },
      });
      assert.equal(answer.status, 200);
      assertNoCors(answer.headers);
    });
  });

  describe("bodies", () => {
    for (const [what, type] of [
      ["text/plain", "text/plain"],
      ["a form", "application/x-www-form-urlencoded"],
      ["multipart", "multipart/form-data; boundary=x"],
    ] as const) {
      it(`refuses ${what} bodies on state-changing routes with 415`, async () => {
        const put = await callVault(vault, "PUT", "/secrets/typed", {
          rawBody: JSON.stringify({ value: "v" }),
          headers: { "content-type": type },
        });
        assertVaultError(put, 415, "UnsupportedMediaType", /application\/json/);
        assert.equal((await callVault(vault, "GET", "/secrets/typed")).status, 404);
        const clock = await callVault(vault, "POST", "/__local/clock", {
          rawBody: JSON.stringify({ advanceMs: day }),
          headers: { "content-type": type },
          apiVersion: null,
        });
        assert.equal(clock.status, 415);
      });
    }

    it("refuses a body without Content-Type", async () => {
      const answer = await raw(
        vault,
        [
          "PUT /secrets/typeless?api-version=7.6 HTTP/1.1",
          `Host: ${hostOf(vault)}`,
          "Authorization: Bearer t",
        ],
        JSON.stringify({ value: "v" }),
      );
      assert.equal(answer.status, 415);
      assert.equal((await callVault(vault, "GET", "/secrets/typeless")).status, 404);
    });

    it("accepts application/json with parameters, and body-less POSTs without a type", async () => {
      const put = await callVault(vault, "PUT", "/secrets/json", {
        rawBody: JSON.stringify({ value: "v" }),
        headers: { "content-type": "Application/JSON; charset=utf-8" },
      });
      assert.equal(put.status, 200);
      const backup = await callVault(vault, "POST", "/secrets/json/backup");
      assert.equal(backup.status, 200);
    });
  });

  describe("test controls", () => {
    it("need a bearer token like the data routes", async () => {
      const answer = await callVault(vault, "POST", "/__local/reset", {
        token: null,
        apiVersion: null,
      });
      assert.equal(answer.status, 401);
      assert.ok(answer.headers.get("www-authenticate"));
    });

    for (const [what, advanceMs] of [
      ["a huge shift", 1e300],
      ["a fraction", 1.5],
      ["a string", "5"],
      ["a negative shift", -1],
      ["more than 100 years", 101 * 365.25 * day],
      ["null", null],
    ] as const) {
      it(`refuse ${what} as a clock shift with 400, and the clock stays`, async () => {
        await callVault(vault, "PUT", "/secrets/dated", { body: { value: "v" } });
        const answer = await callVault(vault, "POST", "/__local/clock", {
          body: { advanceMs },
          apiVersion: null,
        });
        assertVaultError(answer, 400, "BadParameter", /advanceMs/);
        const later = await callVault(vault, "PUT", "/secrets/dated", { body: { value: "w" } });
        assert.ok(later.body.attributes.created <= Math.ceil(Date.now() / 1000));
      });
    }

    it("refuse the same shifts through the API with RangeError", () => {
      assert.throws(() => vault.advanceClock(1e300), RangeError);
      assert.throws(() => vault.advanceClock(Number.NaN), RangeError);
      assert.throws(() => vault.advanceClock(0.5), RangeError);
      assert.throws(() => vault.advanceClock(101 * 365.25 * day), RangeError);
    });

    it("GET /__local/value reads a disabled version as it is, changing nothing", async () => {
      const set = await callVault(vault, "PUT", "/secrets/revoked", {
        body: { value: "old-credential", attributes: { enabled: false } },
      });
      const version = String(set.body.id).split("/").pop() ?? "";
      const before = await callVault(vault, "GET", "/secrets/revoked/versions");
      const read = await callVault(vault, "GET", "/__local/value", {
        apiVersion: null,
        query: `name=Revoked&version=${version.toUpperCase()}`,
      });
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, { value: "old-credential" });
      assert.equal(read.headers.get("cache-control"), "no-store");
      assert.deepEqual(await callVault(vault, "GET", "/secrets/revoked/versions"), before);
      assertVaultError(
        await callVault(vault, "GET", `/secrets/revoked/${version}`),
        403,
        "Forbidden",
        "Operation get is not allowed on a disabled secret.",
        "SecretDisabled",
      );
    });

    it("GET /__local/value needs a token, a name and a version, and a version that exists", async () => {
      const set = await callVault(vault, "PUT", "/secrets/held", { body: { value: "v" } });
      const version = String(set.body.id).split("/").pop() ?? "";
      const query = `name=held&version=${version}`;
      const anonymous = await callVault(vault, "GET", "/__local/value", {
        token: null,
        apiVersion: null,
        query,
      });
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.body?.value, undefined);
      for (const partial of ["name=held", `version=${version}`, "name=&version="]) {
        const answer = await callVault(vault, "GET", "/__local/value", {
          apiVersion: null,
          query: partial,
        });
        assertVaultError(answer, 400, "BadParameter", /\?name=NAME&version=VERSION/);
      }
      const unknown = await callVault(vault, "GET", "/__local/value", {
        apiVersion: null,
        query: "name=held&version=0123456789abcdef0123456789abcdef",
      });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, "SecretNotFound");
      const post = await callVault(vault, "POST", "/__local/value", { apiVersion: null, query });
      assert.equal(post.status, 405);
    });

    it("keep dates integral Unix seconds after a shift", async () => {
      const shift = await callVault(vault, "POST", "/__local/clock", {
        body: { advanceMs: 1234 },
        apiVersion: null,
      });
      assert.equal(shift.status, 200);
      assert.ok(Number.isInteger(shift.body.now));
      const set = await callVault(vault, "PUT", "/secrets/after", { body: { value: "v" } });
      assert.ok(Number.isInteger(set.body.attributes.created));
      const deleted = await callVault(vault, "DELETE", "/secrets/after");
      assert.ok(Number.isInteger(deleted.body.scheduledPurgeDate));
    });
  });
});

describe("local vault: test controls under strictAuth", () => {
  let vault: LocalVault;
  before(async () => {
    vault = await startLocalVault({ strictAuth: true });
  });
  after(() => vault.close());

  it("refuse a request without a token, or with a token the vault did not issue", async () => {
    for (const token of [null, "not-a-vault-token"]) {
      const reset = await callVault(vault, "POST", "/__local/reset", { token, apiVersion: null });
      assert.equal(reset.status, 401);
      const clock = await callVault(vault, "POST", "/__local/clock", {
        token,
        body: { advanceMs: day },
        apiVersion: null,
      });
      assert.equal(clock.status, 401);
      const faults = await callVault(vault, "PUT", "/__local/faults", {
        token,
        body: { errorRate: 1 },
        apiVersion: null,
      });
      assert.equal(faults.status, 401);
    }
    const token = await vault.credential.getToken("https://vault.azure.net/.default");
    const answer = await callVault(vault, "POST", "/__local/reset", {
      token: token?.token ?? "",
      apiVersion: null,
    });
    assert.equal(answer.status, 204);
  });
});

describe("local vault: connections", () => {
  it("answers 408 and disconnects a client that sends its headers too slowly", async () => {
    const vault = await startLocalVault({ headersTimeoutInMs: 200, requestTimeoutInMs: 400 });
    try {
      const port = Number(new URL(vault.vaultUrl).port);
      const socket = connect(port, "127.0.0.1");
      let received = "";
      socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
      socket.write(`GET /secrets?api-version=7.6 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
      // A header byte now and then, never the end of the headers.
      const trickle = setInterval(() => socket.write("X"), 50);
      await new Promise<void>((resolve) => socket.on("close", () => resolve()));
      clearInterval(trickle);
      assert.match(received, /^HTTP\/1\.1 408 /);
    } finally {
      await vault.close();
    }
  });

  it("disconnects a client that sends its body too slowly", async () => {
    const vault = await startLocalVault({ headersTimeoutInMs: 200, requestTimeoutInMs: 400 });
    try {
      const port = Number(new URL(vault.vaultUrl).port);
      const socket = connect(port, "127.0.0.1");
      socket.on("error", () => undefined);
      let received = "";
      socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
      socket.write(
        [
          "PUT /secrets/slow?api-version=7.6 HTTP/1.1",
          `Host: 127.0.0.1:${port}`,
          "Authorization: Bearer t",
          "Content-Type: application/json",
          "Content-Length: 1000",
          "",
          "{",
        ].join("\r\n"),
      );
      const trickle = setInterval(() => socket.write(" "), 50);
      await new Promise<void>((resolve) => socket.on("close", () => resolve()));
      clearInterval(trickle);
      assert.doesNotMatch(received, /^HTTP\/1\.1 200/);
      assert.equal((await callVault(vault, "GET", "/secrets/slow")).status, 404);
    } finally {
      await vault.close();
    }
  });

  /** Opens a connection to the vault that sends nothing; resolves once connected. */
  async function idleSocket(vault: LocalVault, sockets: Socket[]): Promise<Socket> {
    const socket = connect(Number(new URL(vault.vaultUrl).port), "127.0.0.1");
    socket.on("error", () => undefined);
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    return socket;
  }

  /** A TLS connection to an HTTPS vault; resolves once the handshake is done. */
  async function tlsSocket(vault: LocalVault): Promise<Socket> {
    const port = Number(new URL(vault.vaultUrl).port);
    const socket = tlsConnect({ port, host: "127.0.0.1", ca: vault.caCertificate });
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.once("secureConnect", () => resolve()));
    return socket;
  }

  /** A whole request on its own connection (Connection: close). */
  function listSecrets(vault: LocalVault): Promise<RawAnswer> {
    return raw(vault, [
      "GET /secrets?api-version=7.6 HTTP/1.1",
      `Host: ${hostOf(vault)}`,
      "Authorization: Bearer t",
    ]);
  }

  /**
   * Opens a connection whose request stays in flight (its body never comes); resolves once the
   * vault took the request (its 100 Continue arrived).
   */
  async function busySocket(vault: LocalVault, sockets: Socket[]): Promise<Socket> {
    const socket =
      vault.caCertificate === undefined ? await idleSocket(vault, sockets) : await tlsSocket(vault);
    sockets.push(socket);
    let received = "";
    const accepted = new Promise<void>((resolve) =>
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString();
        if (received.startsWith("HTTP/1.1 100 ")) resolve();
      }),
    );
    socket.write(
      [
        "PUT /secrets/slow?api-version=7.6 HTTP/1.1",
        `Host: ${hostOf(vault)}`,
        "Authorization: Bearer t",
        "Content-Type: application/json",
        "Content-Length: 1000",
        "Expect: 100-continue",
        "",
        "",
      ].join("\r\n"),
    );
    await accepted;
    return socket;
  }

  it("at maxConnections, gives the slot of the connection idle longest to a newcomer", async () => {
    const vault = await startLocalVault({ maxConnections: 2 });
    const sockets: Socket[] = [];
    try {
      const oldest = await idleSocket(vault, sockets);
      const closed = new Promise<void>((resolve) => oldest.once("close", () => resolve()));
      const younger = await idleSocket(vault, sockets);
      const answer = await listSecrets(vault);
      assert.equal(answer.status, 200);
      await closed;
      assert.equal(younger.destroyed, false, "only the connection idle longest is closed");
    } finally {
      for (const socket of sockets) socket.destroy();
      await vault.close();
    }
  });

  it("at maxConnections, over HTTPS: an idle TCP connection gives way, one with a request in flight does not", async () => {
    const vault = await startLocalVault({ https: true, maxConnections: 2 });
    const sockets: Socket[] = [];
    try {
      const busy = await busySocket(vault, sockets);
      const idle = await idleSocket(vault, sockets);
      const closed = new Promise<void>((resolve) => idle.once("close", () => resolve()));
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          `${vault.vaultUrl}/secrets?api-version=7.6`,
          { agent: false, ca: vault.caCertificate, headers: { authorization: "Bearer t" } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end();
      });
      assert.equal(status, 200);
      await closed;
      assert.equal(busy.destroyed, false, "the connection with a request in flight stays");
    } finally {
      for (const socket of sockets) socket.destroy();
      await vault.close();
    }
  });

  it("at maxConnections, closes a newcomer at once only when every connection has a request in flight", async () => {
    const vault = await startLocalVault({ maxConnections: 2 });
    const sockets: Socket[] = [];
    try {
      await busySocket(vault, sockets);
      await busySocket(vault, sockets);
      const refused = await listSecrets(vault).then(
        (answer) => answer.status || 0,
        () => 0,
      );
      assert.equal(refused, 0, "a newcomer is closed while both requests are in flight");
      for (const socket of sockets) socket.destroy();
      // Once the others are gone, requests are served again.
      let status = 0;
      for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
        if (attempt > 0) await pause(20);
        status = await callVault(vault, "GET", "/secrets").then(
          (answer) => answer.status,
          () => 0,
        );
      }
      assert.equal(status, 200);
    } finally {
      for (const socket of sockets) socket.destroy();
      await vault.close();
    }
  });

  it("is no lockout: idle sockets that fill the cap and reconnect when cut do not keep clients out", async () => {
    const vault = await startLocalVault({ maxConnections: 4 });
    const sockets: Socket[] = [];
    // The attacker: keeps every slot taken with a connection that sends nothing, and opens a new
    // one whenever one is cut, up to a bounded number of reconnections.
    const reconnectionBudget = 20_000;
    let reconnections = 0;
    let stopped = false;
    const hold = async (): Promise<void> => {
      const socket = await idleSocket(vault, sockets);
      socket.once("close", () => {
        if (stopped || reconnections >= reconnectionBudget) return;
        reconnections += 1;
        void hold();
      });
    };
    try {
      for (let slot = 0; slot < 4; slot++) await hold();
      const statuses: number[] = [];
      for (let request = 0; request < 10; request++) {
        statuses.push(
          await listSecrets(vault).then(
            (answer) => answer.status,
            () => 0,
          ),
        );
      }
      assert.deepEqual(statuses, Array<number>(10).fill(200));
      assert.ok(reconnections > 0, "the attacker's sockets were cut");
      assert.ok(reconnections < reconnectionBudget, "the attacker was still at work");
    } finally {
      stopped = true;
      for (const socket of sockets) socket.destroy();
      await vault.close();
    }
  });
});

describe("local vault: generated certificate", () => {
  it("names the --hostname names in its subjectAltName", async () => {
    const vault = await startLocalVault({ https: true, hostnames: ["keyvault", "vault.test"] });
    try {
      const port = Number(new URL(vault.vaultUrl).port);
      const names = await new Promise<string>((resolve, reject) => {
        const socket = tlsConnect(
          { port, host: "127.0.0.1", ca: vault.caCertificate, servername: "keyvault" },
          () => {
            resolve(socket.getPeerCertificate().subjectaltname ?? "");
            socket.end();
          },
        );
        socket.on("error", reject);
      });
      assert.match(names, /DNS:keyvault/);
      assert.match(names, /DNS:vault\.test/);
      assert.match(names, /IP Address:127\.0\.0\.1/);
    } finally {
      await vault.close();
    }
  });
});
