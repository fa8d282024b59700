import assert from "node:assert/strict";
import { parseKeyVaultSecretIdentifier } from "../../src/index.js";

describe("parseKeyVaultSecretIdentifier", () => {
  it("parses a versioned secret id", () => {
    const id =
      "https://myvault.vault.azure.net/secrets/db-password/03bcccc7c8cf4546a0e3e21e52560441";
    assert.deepEqual(parseKeyVaultSecretIdentifier(id), {
      sourceId: id,
      vaultUrl: "https://myvault.vault.azure.net",
      name: "db-password",
      version: "03bcccc7c8cf4546a0e3e21e52560441",
    });
  });

  it("parses an id without version into an own version key holding undefined, as 4.x", () => {
    const id = "https://myvault.vault.azure.net/secrets/name";
    const parsed = parseKeyVaultSecretIdentifier(id);
    assert.deepEqual(Object.keys(parsed), ["sourceId", "vaultUrl", "name", "version"]);
    assert.ok(Object.hasOwn(parsed, "version"));
    assert.deepEqual(parsed, {
      sourceId: id,
      vaultUrl: "https://myvault.vault.azure.net",
      name: "name",
      version: undefined,
    });
    // The long path (a deleted secret id) gives the same own keys.
    const deleted = parseKeyVaultSecretIdentifier(
      "https://myvault.vault.azure.net/deletedsecrets/n",
    );
    assert.deepEqual(Object.keys(deleted), ["sourceId", "vaultUrl", "name", "version"]);
  });

  it("is pure: ids of different vaults parsed in turn keep their own vault URL", () => {
    const ids = [
      "https://a.vault.azure.net/secrets/x/1",
      "https://b.vault.azure.net:8443/secrets/x",
      "http://127.0.0.1:8443/secrets/x/2",
      "https://a.vault.azure.net:443/secrets/x/1",
      "https://A.vault.azure.net/secrets/x",
    ];
    const first = ids.map((id) => parseKeyVaultSecretIdentifier(id));
    const second = [...ids]
      .reverse()
      .map((id) => parseKeyVaultSecretIdentifier(id))
      .reverse();
    assert.deepEqual(first, second);
    assert.deepEqual(
      first.map((p) => p.vaultUrl),
      [
        "https://a.vault.azure.net",
        "https://b.vault.azure.net:8443",
        "http://127.0.0.1:8443",
        "https://a.vault.azure.net",
        "https://a.vault.azure.net",
      ],
    );
  });

  it("the fast path and the URL parser agree on ports and hosts", () => {
    for (const [id, vaultUrl] of [
      ["http://localhost:80/secrets/a", "http://localhost"],
      ["https://v.vault.azure.net:80/secrets/a", "https://v.vault.azure.net:80"],
      ["https://v.vault.azure.net:08443/secrets/a", "https://v.vault.azure.net:8443"],
      ["https://1.2.3/secrets/a", "https://1.2.0.3"],
      // IPv4 in dotted decimal is taken as it is; every other spelling is the URL parser's.
      ["http://127.0.0.1:8443/secrets/a/0123", "http://127.0.0.1:8443"],
      ["http://10.0.0.255:443/secrets/a", "http://10.0.0.255:443"],
      ["https://10.0.0.255:443/secrets/a", "https://10.0.0.255"],
      ["http://127.000.0.1/secrets/a", "http://127.0.0.1"],
      ["http://127.01.0.1/secrets/a", "http://127.1.0.1"],
      ["http://0x7f.0.0.1:8443/secrets/a", "http://127.0.0.1:8443"],
      ["http://127.1/secrets/a", "http://127.0.0.1"],
      ["http://1.2.3.4.5.vault/secrets/a", "http://1.2.3.4.5.vault"],
    ] as const) {
      assert.equal(parseKeyVaultSecretIdentifier(id).vaultUrl, vaultUrl, id);
    }
    for (const bad of ["https://v.vault.azure.net:70000/secrets/a", "http://256.0.0.1/secrets/a"]) {
      assert.throws(() => parseKeyVaultSecretIdentifier(bad), TypeError, bad);
    }
  });

  it("parses the common shapes of id without the URL parser", () => {
    // Every branch of the fast path: hosts of one or more labels, IPv4 octets of each size, ports
    // up to 65535, names and versions of letters, digits and dashes.
    const ids = {
      "https://myvault.vault.azure.net/secrets/Name-0/0123456789abcdefABCDEF": [
        "https://myvault.vault.azure.net",
        "Name-0",
        "0123456789abcdefABCDEF",
      ],
      "https://my-vault-01.privatelink.vaultcore.azure.net/secrets/a": [
        "https://my-vault-01.privatelink.vaultcore.azure.net",
        "a",
        undefined,
      ],
      "http://localhost:8443/secrets/a/v": ["http://localhost:8443", "a", "v"],
      "http://keyvault:65535/secrets/a": ["http://keyvault:65535", "a", undefined],
      "http://kv1:1/secrets/a": ["http://kv1:1", "a", undefined],
      "https://myvault.vault.azure.net:443/secrets/a": [
        "https://myvault.vault.azure.net",
        "a",
        undefined,
      ],
      "http://127.0.0.1:8443/secrets/a": ["http://127.0.0.1:8443", "a", undefined],
      "http://255.249.199.99/secrets/a": ["http://255.249.199.99", "a", undefined],
      "http://250.200.100.10/secrets/a": ["http://250.200.100.10", "a", undefined],
      "http://9.0.1.255/secrets/a": ["http://9.0.1.255", "a", undefined],
      "http://1.1.1.249/secrets/a": ["http://1.1.1.249", "a", undefined],
      "http://1.1.1.150/secrets/a": ["http://1.1.1.150", "a", undefined],
      "http://1.1.1.42/secrets/a": ["http://1.1.1.42", "a", undefined],
    };
    const realUrl = globalThis.URL;
    globalThis.URL = class {
      constructor() {
        throw new Error("the URL parser was used");
      }
    } as unknown as typeof URL;
    try {
      for (const [id, [vaultUrl, name, version]] of Object.entries(ids)) {
        assert.deepEqual(
          parseKeyVaultSecretIdentifier(id),
          { sourceId: id, vaultUrl, name, version },
          id,
        );
      }
    } finally {
      globalThis.URL = realUrl;
    }
  });

  it("leaves to the URL parser what it would change: case, punycode, encodings", () => {
    for (const [id, vaultUrl, name] of [
      ["https://MyVault.Vault.Azure.Net/secrets/a", "https://myvault.vault.azure.net", "a"],
      ["https://myVAULT.vault.azure.net/secrets/a", "https://myvault.vault.azure.net", "a"],
      ["HTTPS://myvault.vault.azure.net/secrets/a", "https://myvault.vault.azure.net", "a"],
      ["https://xn--mnchen-3ya.example/secrets/a", "https://xn--mnchen-3ya.example", "a"],
      ["https://myvault.vault.azure.net/secrets/a%20b", "https://myvault.vault.azure.net", "a b"],
      ["https://my_vault.example/secrets/a", "https://my_vault.example", "a"],
      ["https://my.vault.example./secrets/a", "https://my.vault.example.", "a"],
    ] as const) {
      const parsed = parseKeyVaultSecretIdentifier(id);
      assert.deepEqual([parsed.vaultUrl, parsed.name], [vaultUrl, name], id);
    }
  });

  it("never reads an id out of the middle of another URL", () => {
    for (const id of [
      "https://evil.example/?https://myvault.vault.azure.net/secrets/a",
      "https://evil.example/x/https://myvault.vault.azure.net/secrets/a",
    ]) {
      assert.throws(() => parseKeyVaultSecretIdentifier(id), TypeError, id);
    }
    assert.equal(
      parseKeyVaultSecretIdentifier("https://evil.example/secrets/https:/myvault.vault.azure.net")
        .vaultUrl,
      "https://evil.example",
    );
  });

  it("throws a TypeError (not URIError) for a malformed percent-encoding", () => {
    for (const id of [
      "https://myvault.vault.azure.net/secrets/%E0%A4%A",
      "https://myvault.vault.azure.net/secrets/a/%ZZ",
    ]) {
      assert.throws(
        () => parseKeyVaultSecretIdentifier(id),
        (error: unknown) =>
          error instanceof TypeError &&
          !(error instanceof URIError) &&
          /percent-encoding/.test(error.message),
        id,
      );
    }
  });

  it("parses a deleted secret id", () => {
    const parsed = parseKeyVaultSecretIdentifier(
      "https://myvault.vault.azure.net/deletedsecrets/name",
    );
    assert.equal(parsed.name, "name");
    assert.equal(parsed.vaultUrl, "https://myvault.vault.azure.net");
  });

  it("drops the default port the service puts in ids and keeps others", () => {
    assert.equal(
      parseKeyVaultSecretIdentifier("https://myvault.vault.azure.net:443/secrets/a").vaultUrl,
      "https://myvault.vault.azure.net",
    );
    assert.equal(
      parseKeyVaultSecretIdentifier("http://127.0.0.1:8443/secrets/a/v").vaultUrl,
      "http://127.0.0.1:8443",
    );
  });

  it("accepts a double slash and a trailing slash", () => {
    const parsed = parseKeyVaultSecretIdentifier("https://v.vault.azure.net//secrets/a/");
    assert.equal(parsed.name, "a");
    assert.equal(parsed.version, undefined);
  });

  for (const bad of [
    "",
    "not a url",
    "https://myvault.vault.azure.net",
    "https://myvault.vault.azure.net/keys/k/v",
    "https://myvault.vault.azure.net/secrets",
    "https://myvault.vault.azure.net/secrets/a/b/c",
    "https://myvault.vault.azure.net/deletedsecrets/a/b",
  ]) {
    it(`throws a TypeError naming the problem for ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => parseKeyVaultSecretIdentifier(bad),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /identifier/);
          return true;
        },
      );
    });
  }

  it("throws a TypeError for a non-string or an empty string, saying what it got", () => {
    for (const [value, got] of [
      [42, "number"],
      [undefined, "undefined"],
      ["", "an empty string"],
    ] as const) {
      assert.throws(() => parseKeyVaultSecretIdentifier(value as unknown as string), {
        name: "TypeError",
        message: `A Key Vault secret identifier must be a non-empty string, got ${got}.`,
      });
    }
  });

  it("gives the same answer on the fast path (same vault as the last id) as on a full parse", () => {
    const vault = "https://fast.vault.azure.net";
    parseKeyVaultSecretIdentifier(`${vault}/secrets/warm-up`);
    for (const id of [
      `${vault}/secrets/a`,
      `${vault}/secrets/a/0123456789abcdef0123456789abcdef`,
      `${vault}/secrets/a%2Db/v`,
      `${vault}/secrets/a/`,
      `${vault}//secrets/a`,
      `${vault}/deletedsecrets/a`,
      `${vault}:443/secrets/a/v`,
      `${vault}/secretsX/a`,
    ]) {
      let fast: unknown;
      let fastError: unknown;
      try {
        fast = parseKeyVaultSecretIdentifier(id);
      } catch (error) {
        fastError = error;
      }
      // A full parse: a different vault in between resets the remembered one.
      parseKeyVaultSecretIdentifier("https://other.vault.azure.net/secrets/x");
      let full: unknown;
      let fullError: unknown;
      try {
        full = parseKeyVaultSecretIdentifier(id);
      } catch (error) {
        fullError = error;
      }
      assert.deepEqual(fast, full, id);
      assert.equal(String(fastError), String(fullError), id);
      parseKeyVaultSecretIdentifier(`${vault}/secrets/warm-up`);
    }
  });

  it("does not take the fast path for another vault whose URL starts the same way", () => {
    parseKeyVaultSecretIdentifier("https://v.vault.azure.net/secrets/a");
    assert.equal(
      parseKeyVaultSecretIdentifier("https://v.vault.azure.net.evil.example/secrets/a").vaultUrl,
      "https://v.vault.azure.net.evil.example",
    );
  });
});
