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

  it("parses an id without version and leaves version absent", () => {
    const parsed = parseKeyVaultSecretIdentifier("https://myvault.vault.azure.net/secrets/name");
    assert.equal(parsed.name, "name");
    assert.equal("version" in parsed, false);
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

  it("throws a TypeError for a non-string", () => {
    assert.throws(() => parseKeyVaultSecretIdentifier(42 as unknown as string), TypeError);
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
