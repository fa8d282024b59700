/**
 * Testing your code with the local vault: a mocha suite that starts a local vault in `before`,
 * seeds the secrets the code under test reads, checks what it does with them, and stops the vault
 * in `after`. No Azure subscription, no network, no mocks of the client: the code under test talks
 * HTTP to a vault that behaves like Key Vault. (This sample always uses the local vault; that is
 * its point.)
 *
 * Run it with `npm run sample -- testingWithTheLocalVault`, or copy it into your suite and run it
 * with mocha (`mocha --import tsx testingWithTheLocalVault.ts`).
 */
import assert from "node:assert/strict";
import { isRestError, SecretClient } from "keyvault-secrets";
import { startLocalVault, type LocalVault } from "keyvault-secrets/emulator";

// --- The code under test: in your application, it lives in its own module. ---

/** Where and how the application connects to its database. */
export interface DatabaseConfig {
  url: string;
  password: string;
}

/**
 * Reads the database settings from the vault: the secrets `database-url` and `database-password`.
 * @param client - a client for the application's vault
 * @returns the settings, from the latest version of each secret
 */
export async function loadDatabaseConfig(client: SecretClient): Promise<DatabaseConfig> {
  const [url, password] = await Promise.all([
    client.getSecret("database-url"),
    client.getSecret("database-password"),
  ]);
  if (!url.value || !password.value) {
    throw new Error("The secrets database-url and database-password must not be empty.");
  }
  return { url: url.value, password: password.value };
}

// --- The tests. ---

describe("loadDatabaseConfig", () => {
  let vault: LocalVault;
  let client: SecretClient;

  before(async () => {
    vault = await startLocalVault({ port: 0 });
    // The local vault is plain HTTP on 127.0.0.1, and its challenge names https://vault.azure.net.
    client = new SecretClient(vault.vaultUrl, vault.credential, {
      allowInsecureConnection: true,
      disableChallengeResourceVerification: true,
    });
  });

  beforeEach(() => {
    // Every test starts from an empty vault.
    vault.reset();
  });

  after(async () => {
    client.close();
    await vault.close();
  });

  it("reads the URL and the password from the vault", async () => {
    await client.setSecret("database-url", "postgres://db.example.com:5432/orders");
    await client.setSecret("database-password", "test-password");

    const config = await loadDatabaseConfig(client);

    assert.deepEqual(config, {
      url: "postgres://db.example.com:5432/orders",
      password: "test-password",
    });
  });

  it("reads the latest password after a rotation", async () => {
    await client.setSecret("database-url", "postgres://db.example.com:5432/orders");
    await client.setSecret("database-password", "old-password");
    await client.setSecret("database-password", "new-password");

    const config = await loadDatabaseConfig(client);

    assert.equal(config.password, "new-password");
  });

  it("fails with the service's 404 when the password is missing", async () => {
    await client.setSecret("database-url", "postgres://db.example.com:5432/orders");

    await assert.rejects(
      loadDatabaseConfig(client),
      (error) => isRestError(error) && error.statusCode === 404 && error.code === "SecretNotFound",
    );
  });
});
