import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  appDirectory,
  assertBuilt,
  printedEnv,
  start,
  startSquattedMachine,
  vaultEnv,
  type Finished,
} from "./injectKit.js";
import { localClient, uniqueName } from "./integrationTestKit.js";

/** The app's first line prints the variables named on its command line, as JSON. */
const appSource =
  "const o={};for(const k of process.argv.slice(2))o[k]=process.env[k]??null;console.log(JSON.stringify(o));";

const flavours = [
  { name: "ESM (node --import keyvault-secrets/env)", flag: "--import", app: "app.mjs" },
  { name: "CommonJS (node -r keyvault-secrets/env)", flag: "-r", app: "app.cjs" },
] as const;

describe("integration: the keyvault-secrets/env preload against the local vault", function () {
  this.timeout(30_000);
  let vault: LocalVault;
  let client: SecretClient;
  let app: ReturnType<typeof appDirectory>;
  let prefix: string;
  let version: string;
  /** A vault whose writer chose hostile names. */
  let hostile: LocalVault;
  /** A secret of `vault` whose value holds a NUL character. */
  const nulName = uniqueName("nul");
  /** The prefix of two secrets of `vault` that no other test touches. */
  const countPrefix = `${uniqueName("count")}-`;

  before(async () => {
    assertBuilt();
    hostile = await startLocalVault({
      delayMs: 0,
      seed: {
        secrets: [
          { name: "node-options", value: "--require ./payload.cjs" },
          { name: "ld-preload", value: "./payload.so" },
          { name: "db-password", value: "ordinary-value" },
        ],
      },
    });
    vault = await startLocalVault({ delayMs: 10 });
    client = localClient(vault);
    app = appDirectory();
    writeFileSync(join(app.dir, "app.mjs"), appSource);
    writeFileSync(join(app.dir, "app.cjs"), appSource);
    prefix = `${uniqueName("preload")}-`;
    version = (await client.setSecret(`${prefix}db-password`, "first-password")).properties
      .version!;
    await client.setSecret(`${prefix}db-password`, "latest-password");
    await client.setSecret(`${prefix}api-key`, "api-key-value", { tags: { app: "billing" } });
    await client.setSecret(`${prefix}feature`, "feature-value", { tags: { app: "orders" } });
    await client.setSecret(nulName, "before\u0000after-hidden-part");
    await client.setSecret(`${countPrefix}one`, "count-value-1");
    await client.setSecret(`${countPrefix}two`, "count-value-2");
  });
  after(async () => {
    app?.remove();
    client.close();
    await vault.close();
    await hostile.close();
  });

  for (const { name, flag, app: appFile } of flavours) {
    describe(name, () => {
      function runApp(env: NodeJS.ProcessEnv, ...keys: string[]): Promise<Finished> {
        return start(
          process.execPath,
          [flag, "keyvault-secrets/env", appFile, ...keys],
          env,
          app.dir,
        ).finished;
      }

      it("loads the secrets into process.env before the app's first line; set variables win", async () => {
        const env = vaultEnv(vault, {
          KEYVAULT_SECRETS_PREFIX: prefix,
          KEYVAULT_SECRETS_STRIP_PREFIX: "true",
          KEYVAULT_SECRETS_ENV_PREFIX: "APP_",
          APP_FEATURE: "from the operator",
        });
        const keys = ["APP_DB_PASSWORD", "APP_API_KEY", "APP_FEATURE"];
        assert.deepEqual(printedEnv(await runApp(env, ...keys)), {
          APP_DB_PASSWORD: "latest-password",
          APP_API_KEY: "api-key-value",
          APP_FEATURE: "from the operator",
        });
        assert.deepEqual(
          printedEnv(await runApp({ ...env, KEYVAULT_SECRETS_OVERRIDE: "1" }, ...keys)),
          {
            APP_DB_PASSWORD: "latest-password",
            APP_API_KEY: "api-key-value",
            APP_FEATURE: "feature-value",
          },
        );
      });

      it("filters by KEYVAULT_SECRETS_NAMES and KEYVAULT_SECRETS_TAG", async () => {
        const keys = ["DB_PASSWORD", "API_KEY", "FEATURE"];
        const common = { KEYVAULT_SECRETS_PREFIX: prefix, KEYVAULT_SECRETS_STRIP_PREFIX: "1" };
        const byNames = await runApp(
          vaultEnv(vault, {
            ...common,
            KEYVAULT_SECRETS_NAMES: `${prefix}db-password, ${prefix}feature`,
          }),
          ...keys,
        );
        assert.deepEqual(printedEnv(byNames), {
          DB_PASSWORD: "latest-password",
          API_KEY: null,
          FEATURE: "feature-value",
        });
        const byTag = await runApp(
          vaultEnv(vault, { ...common, KEYVAULT_SECRETS_TAG: "app=billing" }),
          ...keys,
        );
        assert.deepEqual(printedEnv(byTag), {
          DB_PASSWORD: null,
          API_KEY: "api-key-value",
          FEATURE: null,
        });
      });

      it("resolves Key Vault references of both forms, with and without versions, mapped by KEYVAULT_REFERENCE_VAULTS", async () => {
        const run = await runApp(
          vaultEnv(vault, {
            KEYVAULT_URI: undefined,
            KEYVAULT_REFERENCE_VAULTS: `myvault=${vault.vaultUrl}`,
            LATEST: `@Microsoft.KeyVault(VaultName=myvault;SecretName=${prefix}db-password)`,
            FIRST: `@Microsoft.KeyVault(VaultName=myvault;SecretName=${prefix}db-password;SecretVersion=${version})`,
            MAPPED_URI: `@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/${prefix}api-key/)`,
            LOCAL_URI: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${prefix}db-password/${version})`,
          }),
          "LATEST",
          "FIRST",
          "MAPPED_URI",
          "LOCAL_URI",
        );
        assert.deepEqual(printedEnv(run), {
          LATEST: "latest-password",
          FIRST: "first-password",
          MAPPED_URI: "api-key-value",
          LOCAL_URI: "first-password",
        });
        assert.equal(run.stderr, "keyvault-secrets/env: resolved 4 references\n");
      });

      it("says how many secrets it loaded, in one line; KEYVAULT_SECRETS_VERBOSE names them", async () => {
        const quiet = await runApp(vaultEnv(vault, { KEYVAULT_SECRETS_PREFIX: countPrefix }));
        assert.equal(quiet.code, 0, quiet.stderr);
        assert.equal(
          quiet.stderr,
          `keyvault-secrets/env: loaded 2 secrets from ${vault.vaultUrl}\n`,
        );
        const verbose = await runApp(
          vaultEnv(vault, {
            KEYVAULT_SECRETS_PREFIX: countPrefix,
            KEYVAULT_SECRETS_VERBOSE: "yes",
          }),
        );
        assert.equal(verbose.code, 0, verbose.stderr);
        assert.equal(
          verbose.stderr,
          `keyvault-secrets/env: loaded 2 secrets from ${vault.vaultUrl}: ${countPrefix}one, ${countPrefix}two\n`,
        );
        assert.ok(!/count-value/.test(quiet.stderr + verbose.stderr));
      });

      it("stops before the app when KEYVAULT_SECRETS_PREFIX matches nothing, unless KEYVAULT_SECRETS_ALLOW_EMPTY", async () => {
        const typo = `${countPrefix}typo-`;
        const failed = await runApp(vaultEnv(vault, { KEYVAULT_SECRETS_PREFIX: typo }), "X");
        assert.equal(failed.code, 1, failed.stderr);
        assert.equal(failed.stdout, "", "the app ran");
        assert.equal(
          failed.stderr,
          `keyvault-secrets/env: Nothing was loaded: no secret of ${vault.vaultUrl} matched KEYVAULT_SECRETS_PREFIX "${typo}". Check the filter (a prefix matches the start of a name in any case; a tag, its name and value exactly), or set KEYVAULT_SECRETS_ALLOW_EMPTY=true to start with no secrets.\nThe app was not started.\n`,
        );
        const allowed = await runApp(
          vaultEnv(vault, { KEYVAULT_SECRETS_PREFIX: typo, KEYVAULT_SECRETS_ALLOW_EMPTY: "on" }),
          "X",
        );
        assert.deepEqual(printedEnv(allowed), { X: null });
        assert.equal(
          allowed.stderr,
          `keyvault-secrets/env: loaded 0 secrets from ${vault.vaultUrl}\n`,
        );
      });

      it("stops on a missing name unless KEYVAULT_SECRETS_ALLOW_MISSING; warns of expired secrets by name", async () => {
        const names = `${prefix}db-password,${prefix}absent,${prefix}expired`;
        const keys = ["DB_PASSWORD", "ABSENT", "EXPIRED"];
        const common = {
          KEYVAULT_SECRETS_PREFIX: prefix,
          KEYVAULT_SECRETS_STRIP_PREFIX: "1",
          KEYVAULT_SECRETS_NAMES: names,
        };
        await client.setSecret(`${prefix}expired`, "expired-value", {
          expiresOn: new Date(Date.now() - 60_000),
        });
        const failed = await runApp(vaultEnv(vault, common), ...keys);
        assert.equal(failed.code, 1, failed.stderr);
        assert.equal(failed.stdout, "", "the app ran");
        assert.match(failed.stderr, new RegExp(`\\n {2}${prefix}absent: [^\\n]*not found`, "i"));
        assert.match(failed.stderr, /The app was not started\.\n$/);

        const allowed = await runApp(
          vaultEnv(vault, { ...common, KEYVAULT_SECRETS_ALLOW_MISSING: "true" }),
          ...keys,
        );
        assert.deepEqual(printedEnv(allowed), {
          DB_PASSWORD: "latest-password",
          ABSENT: null,
          EXPIRED: null,
        });
        assert.match(
          allowed.stderr,
          new RegExp(`^keyvault-secrets/env: skipped, expired: ${prefix}expired$`, "m"),
        );
        assert.match(
          allowed.stderr,
          new RegExp(
            `^keyvault-secrets/env: skipped, missing or disabled in the vault: ${prefix}absent$`,
            "m",
          ),
        );
        assert.ok(!/expired-value|latest-password/.test(failed.stderr + allowed.stderr));
      });

      it("stops before the app when the load fails, with the reason and status 1", async () => {
        for (const env of [
          vaultEnv(vault, { KEYVAULT_SECRETS_PREFIX: prefix, IDENTITY_HEADER: "wrong" }),
          vaultEnv(vault, {
            KEYVAULT_URI: undefined,
            DB_PASSWORD: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${prefix}missing/)`,
          }),
        ]) {
          const run = await runApp(env, "DB_PASSWORD");
          assert.equal(run.code, 1, run.stderr);
          assert.equal(run.stdout, "", "the app ran");
          assert.match(run.stderr, /^keyvault-secrets\/env: /);
          assert.match(
            run.stderr,
            /(\(listing\): .*x-identity-header value is not valid|DB_PASSWORD: the secret ".*missing" .* 404 SecretNotFound)/,
          );
          assert.match(run.stderr, /The app was not started\.\n$/);
        }
      });

      it("stops before the app with status 2 on a malformed reference or setting", async () => {
        const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
          [
            vaultEnv(vault, { KEYVAULT_SECRETS_OVERRIDE: "maybe" }),
            /KEYVAULT_SECRETS_OVERRIDE must be true or false \(also 1\/0, yes\/no, on\/off\)/,
          ],
          [
            vaultEnv(vault, { KEYVAULT_SECRETS_VERBOSE: "loud" }),
            /KEYVAULT_SECRETS_VERBOSE must be true or false/,
          ],
          [
            vaultEnv(vault, { KEYVAULT_SECRETS_STRIP_PREFIX: "true" }),
            /KEYVAULT_SECRETS_STRIP_PREFIX needs KEYVAULT_SECRETS_PREFIX/,
          ],
          [
            vaultEnv(vault, {
              REF: "@Microsoft.KeyVault(VaultName=myvault;SecretName=a;SecretVersion=1)",
            }),
            /REF: malformed Key Vault reference \(SecretVersion "1" is not a version/,
          ],
        ];
        for (const [env, message] of cases) {
          const run = await runApp(env, "REF");
          assert.equal(run.code, 2, run.stderr);
          assert.equal(run.stdout, "");
          assert.match(run.stderr, message);
        }
      });

      it("does nothing without a vault or references (an app already on App Service)", async () => {
        const run = await runApp(
          vaultEnv(vault, { KEYVAULT_URI: undefined, PLAIN: "as set" }),
          "PLAIN",
        );
        assert.deepEqual(printedEnv(run), { PLAIN: "as set" });
        assert.equal(run.stderr, "");
      });

      if (flag === "-r") {
        it("stops, without quoting it, when the helper's stdout is not the variables", async () => {
          // A module preloaded into every process (NODE_OPTIONS) that writes to stdout in the helper.
          writeFileSync(
            join(app.dir, "noisy.cjs"),
            "if (process.env.KEYVAULT_SECRETS_PRELOAD_CHILD) process.stdout.write('noise ');",
          );
          const run = await runApp(
            vaultEnv(vault, {
              NODE_OPTIONS: `--require ${join(app.dir, "noisy.cjs")}`,
              KEYVAULT_SECRETS_PREFIX: prefix,
            }),
            "DB_PASSWORD",
          );
          assert.equal(run.code, 1, run.stderr);
          assert.equal(run.stdout, "");
          assert.match(run.stderr, /the helper process printed something other than the variables/);
          assert.ok(!run.stderr.includes("latest-password"), "a value was shown");
        });
      }

      it("leaves out variables a secret's name may not choose, unless KEYVAULT_SECRETS_NAMES lists it", async () => {
        const all = await runApp(vaultEnv(hostile), "NODE_OPTIONS", "LD_PRELOAD", "DB_PASSWORD");
        assert.deepEqual(printedEnv(all), {
          NODE_OPTIONS: null,
          LD_PRELOAD: null,
          DB_PASSWORD: "ordinary-value",
        });
        assert.match(
          all.stderr,
          /^keyvault-secrets\/env: not set, .*LD_PRELOAD <- ld-preload: the dynamic loader.*NODE_OPTIONS <- node-options: Node\.js loads the code it names/m,
        );
        assert.ok(!all.stderr.includes("payload"), all.stderr);

        const named = await runApp(
          vaultEnv(hostile, { KEYVAULT_SECRETS_NAMES: "node-options" }),
          "NODE_OPTIONS",
        );
        assert.deepEqual(printedEnv(named), { NODE_OPTIONS: "--require ./payload.cjs" });
      });

      it("stops before the app on a value with a NUL character, naming the secret, not the value", async () => {
        for (const [env, named] of [
          [
            vaultEnv(vault, { KEYVAULT_SECRETS_NAMES: nulName }),
            `NUL character, which an environment variable cannot carry: ${nulName}.`,
          ],
          [
            vaultEnv(vault, {
              KEYVAULT_URI: undefined,
              NUL_REF: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${nulName}/)`,
            }),
            `NUL_REF: the secret "${nulName}" of ${vault.vaultUrl} holds a NUL character`,
          ],
        ] as const) {
          const run = await runApp(env, "NUL_REF");
          assert.equal(run.code, 1, run.stderr);
          assert.equal(run.stdout, "", "the app ran");
          assert.ok(run.stderr.includes(named), run.stderr);
          assert.ok(!/after-hidden|before/.test(run.stderr), run.stderr);
          assert.match(run.stderr, /The app was not started\.\n$/);
        }
      });

      it("sends no token to a process squatting a local vault's port when the identity endpoint is the platform's", async () => {
        const machine = await startSquattedMachine();
        try {
          const run = await runApp(machine.env(), "DB_PASSWORD");
          assert.deepEqual(machine.platform.resources, [], "a platform token was requested");
          assert.deepEqual(machine.squatter.authorizations, [], "a token reached the squatter");
          assert.equal(run.code, 1, run.stderr);
          assert.equal(run.stdout, "", "the app ran");
          assert.ok(
            run.stderr.includes(`IDENTITY_ENDPOINT=${machine.squatter.url}/__local/identity/token`),
            run.stderr,
          );
        } finally {
          await machine.close();
        }
      });

      it("runs once when it is also given in NODE_OPTIONS", async () => {
        const run = await runApp(
          vaultEnv(vault, {
            NODE_OPTIONS: `${flag} keyvault-secrets/env`,
            KEYVAULT_SECRETS_PREFIX: prefix,
            KEYVAULT_SECRETS_STRIP_PREFIX: "true",
          }),
          "DB_PASSWORD",
        );
        assert.deepEqual(printedEnv(run), { DB_PASSWORD: "latest-password" });
      });
    });
  }
});
