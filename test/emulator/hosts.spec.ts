import assert from "node:assert/strict";
import { networkInterfaces } from "node:os";
import { HostPolicy, isLoopbackHost, normalizeHostname } from "../../src/emulator/http/hosts.js";

// The local vault's Host and Origin rules on their own (test/emulator/security.spec.ts sends them
// over sockets): which names it answers to, and which origin is its own.

describe("local vault hosts: isLoopbackHost", () => {
  for (const host of [
    "localhost",
    "LOCALHOST",
    "vault.localhost",
    "127.0.0.1",
    "127.9.9.9",
    "::1",
    "[::1]",
    "0:0:0:0:0:0:0:1",
    "[0:0:0:0:0:0:0:1]",
  ]) {
    it(`is true for ${host}`, () => {
      assert.equal(isLoopbackHost(host), true);
    });
  }

  for (const host of [
    "notlocalhost",
    "localhost.example",
    "x[::1]",
    "[::1]x",
    // A DNS name that only starts like a loopback address resolves anywhere.
    "127.0.0.1.nip.io",
    "128.0.0.1",
    "::2",
    "[::2]",
    // Brackets are taken off a whole address only: what stays around them is part of the name.
    "vault.local[host]",
    "[local]host",
    "",
  ]) {
    it(`is false for ${JSON.stringify(host)}`, () => {
      assert.equal(isLoopbackHost(host), false);
    });
  }
});

describe("local vault hosts: normalizeHostname", () => {
  it("lower-cases names and takes IPv6 addresses without brackets", () => {
    assert.equal(normalizeHostname("KeyVault"), "keyvault");
    assert.equal(normalizeHostname("My_Vault.Example.Test"), "my_vault.example.test");
    assert.equal(normalizeHostname("[::1]"), "::1");
    assert.equal(normalizeHostname("[FE80::1]"), "fe80::1");
    assert.equal(normalizeHostname("fe80::1"), "fe80::1");
    assert.equal(normalizeHostname("10.0.0.1"), "10.0.0.1");
  });

  it("takes a name of 253 characters and refuses one of 254", () => {
    const label = "a".repeat(62);
    const name253 = [label, label, label, label].join(".") + ".a";
    assert.equal(name253.length, 253);
    assert.equal(normalizeHostname(name253), name253);
    assert.throws(() => normalizeHostname(`${name253}c`), RangeError);
  });

  for (const name of [
    "a b",
    "-vault",
    "vault-",
    "a..b",
    "x[::1]",
    "[::1]x",
    "vault[x]",
    "[vault]x",
    "vault/x",
    "",
  ]) {
    it(`refuses ${JSON.stringify(name)}, saying what a name may be`, () => {
      assert.throws(() => normalizeHostname(name), {
        name: "RangeError",
        message: `"${name}" is neither a DNS name (letters, digits, '-', '.') nor an IP address.`,
      });
    });
  }
});

describe("local vault hosts: HostPolicy", () => {
  it("answers to the loopback names and the address it listens on", () => {
    assert.deepEqual(new HostPolicy("http", "127.0.0.1", []).allowed, [
      "localhost",
      "127.0.0.1",
      "[::1]",
    ]);
    assert.deepEqual(new HostPolicy("http", "KeyVault.Example", []).allowed, [
      "localhost",
      "127.0.0.1",
      "[::1]",
      "keyvault.example",
    ]);
    assert.deepEqual(
      new HostPolicy("https", "[FE80::1%eth0]", ["keyvault", "fd00::2%lo"]).allowed,
      ["localhost", "127.0.0.1", "[::1]", "[fe80::1]", "keyvault", "[fd00::2]"],
    );
    assert.deepEqual(
      new HostPolicy("http", "127.0.0.1", ["[FD00::3%eth1]"]).allowed.at(-1),
      "[fd00::3]",
      "a name in URL form, with a zone",
    );
  });

  for (const everywhere of ["0.0.0.0", "::", "[::]"]) {
    it(`listening on ${everywhere}, answers to every address of the machine`, () => {
      const allowed = new HostPolicy("http", everywhere, []).allowed;
      const own = Object.values(networkInterfaces())
        .flatMap((addresses) => addresses ?? [])
        .map((address) => address.address.replace(/%.*$/, ""))
        .map((address) => (address.includes(":") ? `[${address}]` : address));
      for (const address of own) assert.ok(allowed.includes(address), address);
      assert.ok(!allowed.includes(everywhere), "not the wildcard itself");
    });
  }

  describe("accept", () => {
    const hosts = new HostPolicy("http", "127.0.0.1", ["keyvault"]);

    it("accepts its names, with the port or the scheme's default", () => {
      assert.deepEqual(hosts.accept("localhost:8443"), {
        hostname: "localhost",
        port: 8443,
        authority: "localhost:8443",
      });
      assert.deepEqual(hosts.accept("KeyVault"), {
        hostname: "keyvault",
        port: 80,
        authority: "keyvault",
      });
      const longest = `${["a", "b", "c"].map((letter) => letter.repeat(63)).join(".")}.${"d".repeat(51)}.localhost`;
      assert.equal(longest.length, 253);
      assert.equal(hosts.accept(longest)?.hostname, longest, "a name of 253 characters");
      assert.deepEqual(hosts.accept("[::1]:65535"), {
        hostname: "[::1]",
        port: 65535,
        authority: "[::1]:65535",
      });
      assert.deepEqual(new HostPolicy("https", "127.0.0.1", []).accept("127.0.0.1:443"), {
        hostname: "127.0.0.1",
        port: 443,
        authority: "127.0.0.1",
      });
    });

    for (const header of [
      undefined,
      "localhost:0",
      "localhost:65536",
      "x@localhost",
      "evil.example localhost",
      "[127.0.0.1]:8443",
      "a..localhost",
      `${"a".repeat(250)}.localhost`,
      // Labels of 63 characters, 254 in all: too long for a name.
      `${["a", "b", "c"].map((letter) => letter.repeat(63)).join(".")}.${"d".repeat(52)}.localhost`,
      "evil.example",
    ]) {
      it(`refuses ${JSON.stringify(header)}`, () => {
        assert.equal(hosts.accept(header), undefined);
      });
    }
  });

  describe("isOwnOrigin", () => {
    const hosts = new HostPolicy("http", "127.0.0.1", []);
    const host = hosts.accept("127.0.0.1:8443")!;

    it("is true for the scheme, host and port the request came to, in any case", () => {
      assert.equal(hosts.isOwnOrigin("http://127.0.0.1:8443", host), true);
      assert.equal(hosts.isOwnOrigin("HTTP://127.0.0.1:8443", host), true);
    });

    for (const origin of [
      "http://127.0.0.1:8444",
      "http://127.0.0.1",
      "http://localhost:8443",
      "https://127.0.0.1:8443",
      // Another scheme as long as "http://": the rest must not be read as a host.
      "ftps://127.0.0.1:8443",
      "null",
    ]) {
      it(`is false for ${origin}`, () => {
        assert.equal(hosts.isOwnOrigin(origin, host), false);
      });
    }
  });
});
