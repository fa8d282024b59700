/**
 * App Service Key Vault references on a developer's machine. An app configured for App Service has
 * settings such as `DB_PASSWORD=@Microsoft.KeyVault(VaultName=myvault;SecretName=db-password)`;
 * App Service resolves them, a laptop does not. `resolveReferences` does, here against a local vault
 * that stands in for `myvault` (the mapping is what KEYVAULT_REFERENCE_VAULTS does for
 * `keyvault-secrets run` and the preload).
 *
 * Run it with `npm run sample -- appServiceReferences`. Only names and lengths are printed.
 */
import { KeyVaultReferenceError, resolveReferences, SecretClient } from "keyvault-secrets";
import { startLocalVault } from "keyvault-secrets/emulator";
import { mask } from "./vault.js";

async function main(): Promise<void> {
  const vault = await startLocalVault();
  const clientOptions = {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
  };
  const client = new SecretClient(vault.vaultUrl, vault.credential, clientOptions);
  try {
    const first = await client.setSecret("db-password", "first-password");
    await client.setSecret("db-password", "rotated-password");
    await client.setSecret("api-key", "s3cr3t-api-key");

    // The app settings, as App Service has them.
    const settings = {
      DB_PASSWORD: "@Microsoft.KeyVault(VaultName=myvault;SecretName=db-password)",
      DB_PASSWORD_PINNED: `@Microsoft.KeyVault(VaultName=myvault;SecretName=db-password;SecretVersion=${first.properties.version})`,
      API_KEY: "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/api-key/)",
      // A SecretUri may also name the local vault directly.
      LOCAL_API_KEY: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/api-key/)`,
      LOG_LEVEL: "info",
    };
    const resolved = await resolveReferences(settings, {
      credential: vault.credential,
      clientOptions,
      vaultUrls: { myvault: vault.vaultUrl },
    });
    for (const [name, value] of Object.entries(resolved)) console.log(`${name}: ${mask(value)}`);
    console.log(
      `Not a reference, left out: ${Object.keys(settings)
        .filter((k) => !(k in resolved))
        .join(", ")}`,
    );

    // A reference that cannot be resolved names the variable and the reason.
    try {
      await resolveReferences(
        { MISSING: "@Microsoft.KeyVault(VaultName=myvault;SecretName=no-such-secret)" },
        { credential: vault.credential, clientOptions, vaultUrls: { myvault: vault.vaultUrl } },
      );
    } catch (error) {
      if (!(error instanceof KeyVaultReferenceError)) throw error;
      for (const { variableName, reason } of error.failures) {
        console.log(`${variableName} failed: ${reason}`);
      }
    }
  } finally {
    client.close();
    await vault.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
