import assert from "node:assert/strict";
import { isLoopbackHost } from "../../src/loopbackHost.js";

// The one rule that lets a token travel over plain HTTP: a host that names this machine.
describe("isLoopbackHost", function () {
  for (const host of [
    "localhost",
    "LocalHost",
    "[::1]",
    "::1",
    "127.0.0.1",
    "127.1.2.3",
    "127.255.255.255",
    "127.0.255.0",
  ]) {
    it(`accepts ${host}`, function () {
      assert.equal(isLoopbackHost(host), true);
    });
  }

  for (const host of [
    // Lookalikes: a name that ends or starts with a loopback address is someone else's.
    "a.127.0.0.1",
    "x127.0.0.1",
    "127.0.0.1.example.com",
    "localhost.example.com",
    "notlocalhost",
    // Out of range: not an address at all.
    "127.0.0.256",
    "127.256.0.1",
    "127.0.256.1",
    "127.1000.0.1",
    "128.0.0.1",
    "10.0.0.1",
    "[::2]",
    "::",
    "",
  ]) {
    it(`refuses ${JSON.stringify(host)}`, function () {
      assert.equal(isLoopbackHost(host), false);
    });
  }
});
