/**
 * Startup configuration from Key Vault: load the secrets once with `SecretCache` (bounded
 * concurrency, one shared backoff when the vault throttles), put them into `process.env` without
 * overriding variables that are already set, and pick up a rotation with `refresh()`.
 *
 * Run it with `npm run sample -- loadIntoEnv` (a local vault, seeded with three secrets), or
 * against your own vault with `KEYVAULT_URI=https://<name>.vault.azure.net npm run sample --
 * loadIntoEnv`; there it loads the secrets whose names start with SECRET_PREFIX (all when unset).
 * Only environment keys are printed, never values.
 */
import { SecretCache, toEnvironmentKey } from "keyvault-secrets";
import { connect, deleteAndPurge, uniqueName } from "./vault.js";

async function main(): Promise<void> {
  const { client, pollIntervalInMs, description, close } = await connect();
  console.log(`Loading secrets into the environment from ${description}.`);
  const onLocalVault = !process.env["KEYVAULT_URI"];
  const prefix = onLocalVault ? `${uniqueName("env")}-` : (process.env["SECRET_PREFIX"] ?? "");
  const seeded: string[] = [];
  const cache = new SecretCache(client, { prefix, concurrency: 32 });

  try {
    if (onLocalVault) {
      // The names .NET and Spring apps use: `--` separates sections (DB__PASSWORD in the env).
      for (const [name, value] of [
        ["db--password", "s3cr3t-password"],
        ["api-key", "s3cr3t-api-key"],
        ["feature-flags", "beta,dark-mode"],
      ]) {
        await client.setSecret(prefix + name, value);
        seeded.push(prefix + name);
      }
      // A variable the operator set wins over the vault unless `override: true` is passed.
      process.env["SAMPLE_API_KEY"] = "set by the operator";
      console.log(`Seeded ${seeded.length} secrets named ${prefix}*.`);
    }

    const started = Date.now();
    await cache.load();
    console.log(`Loaded ${cache.size} secrets in ${Date.now() - started} ms.`);

    // Strip the name prefix, map the rest the default way (db--password -> DB__PASSWORD), and
    // put SAMPLE_ in front of every key.
    const { applied, skipped } = cache.applyToProcessEnv({
      prefix: "SAMPLE_",
      transform: (name) => toEnvironmentKey(name.slice(prefix.length)),
    });
    console.log(`Set in process.env: ${applied.join(", ") || "(none)"}`);
    console.log(`Already set, left alone: ${skipped.join(", ") || "(none)"}`);

    if (onLocalVault) {
      await client.setSecret(`${prefix}db--password`, "rotated-password");
      const { updated } = await cache.refresh();
      console.log(`After a rotation, refresh() fetched again: ${updated.join(", ")}`);
    }
  } finally {
    cache.close();
    for (const name of seeded) await deleteAndPurge(client, name, pollIntervalInMs);
    await close();
  }
  console.log("Done.");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
