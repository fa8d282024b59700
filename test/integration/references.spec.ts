import assert from "node:assert/strict";
import {
  KeyVaultReferenceError,
  resolveReferences,
  type ResolveReferencesOptions,
  type SecretClient,
} from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertBuilt, printedEnv, printEnv, runCli, vaultEnv } from "./injectKit.js";
import { localClient, loopbackClientOptions, uniqueName } from "./integrationTestKit.js";
import { fixedTokenCredential } from "../helpers/fakeCredential.js";

const syntax =
  "expected @Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>/[<version>]) or @Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>[;SecretVersion=<version>])";

async function rejection(promise: Promise<unknown>): Promise<KeyVaultReferenceError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof KeyVaultReferenceError, `got ${String(error)}`);
    return error;
  }
  assert.fail("expected a KeyVaultReferenceError");
}

describe("integration: App Service Key Vault references against the local vault", function () {
  this.timeout(30_000);
  let vault: LocalVault;
  let client: SecretClient;
  let options: ResolveReferencesOptions;
  let name: string;
  let firstVersion: string;
  let latestVersion: string;

  before(async () => {
    vault = await startLocalVault({ delayMs: 10 });
    client = localClient(vault);
    options = { credential: vault.credential, clientOptions: loopbackClientOptions };
    name = uniqueName("ref");
    firstVersion = (await client.setSecret(name, "first-value")).properties.version!;
    latestVersion = (await client.setSecret(name, "latest-value")).properties.version!;
  });
  after(async () => {
    client.close();
    await vault.close();
  });

  describe("resolveReferences", () => {
    it("resolves SecretUri references to the local vault's own URL, with and without a version", async () => {
      const resolved = await resolveReferences(
        {
          LATEST: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}/)`,
          LATEST_NO_SLASH: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name})`,
          FIRST: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}/${firstVersion})`,
          PLAIN: "not a reference",
          UNSET: undefined,
        },
        options,
      );
      assert.deepEqual(resolved, {
        LATEST: "latest-value",
        LATEST_NO_SLASH: "latest-value",
        FIRST: "first-value",
      });
    });

    it("maps the vaults of both forms to the local vault, by name or by URL, with and without a version", async () => {
      const env = {
        BY_NAME: `@Microsoft.KeyVault(VaultName=myvault;SecretName=${name})`,
        BY_NAME_VERSION: `@Microsoft.KeyVault(VaultName=MyVault; SecretName=${name}; SecretVersion=${firstVersion})`,
        BY_URI: `@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/${name}/${latestVersion})`,
        OTHER_URI: `@Microsoft.KeyVault(SecretUri=https://other.vault.azure.net/secrets/${name}/)`,
      };
      const expected = {
        BY_NAME: "latest-value",
        BY_NAME_VERSION: "first-value",
        BY_URI: "latest-value",
        OTHER_URI: "latest-value",
      };
      assert.deepEqual(
        await resolveReferences(env, {
          ...options,
          vaultUrls: { myvault: vault.vaultUrl, "https://other.vault.azure.net": vault.vaultUrl },
        }),
        expected,
      );
      // Without the option, the KEYVAULT_REFERENCE_VAULTS entry of the environment maps them.
      assert.deepEqual(
        await resolveReferences(
          {
            ...env,
            KEYVAULT_REFERENCE_VAULTS: `myvault=${vault.vaultUrl}, https://OTHER.vault.azure.net=${vault.vaultUrl}/`,
          },
          options,
        ),
        expected,
      );
    });

    it("keeps a pinned version apart from a secret whose name looks like name-version", async () => {
      await client.setSecret(`${name}-${firstVersion}`, "lookalike-value");
      const resolved = await resolveReferences(
        {
          PINNED: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}/${firstVersion})`,
          LOOKALIKE: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}-${firstVersion}/)`,
        },
        options,
      );
      assert.deepEqual(resolved, { PINNED: "first-value", LOOKALIKE: "lookalike-value" });
    });

    it("resolves references to secrets that are expired or not yet valid, as App Service does", async () => {
      await client.setSecret(`${name}-expired`, "expired-value", {
        expiresOn: new Date(Date.now() - 60_000),
      });
      await client.setSecret(`${name}-future`, "future-value", {
        notBefore: new Date(Date.now() + 3_600_000),
      });
      assert.deepEqual(
        await resolveReferences(
          {
            EXPIRED: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}-expired/)`,
            FUTURE: `@Microsoft.KeyVault(VaultName=myvault;SecretName=${name}-future)`,
          },
          { ...options, vaultUrls: { myvault: vault.vaultUrl } },
        ),
        { EXPIRED: "expired-value", FUTURE: "future-value" },
      );
    });

    it("names each variable that could not be resolved, and why", async () => {
      await client.setSecret(`${name}-off`, "disabled-value", { enabled: false });
      const error = await rejection(
        resolveReferences(
          {
            GOOD: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}/)`,
            MISSING: `@Microsoft.KeyVault(VaultName=myvault;SecretName=${name}-nope)`,
            NO_VERSION: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}/${"0".repeat(32)})`,
            DISABLED: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}-off/)`,
          },
          { ...options, vaultUrls: { myvault: vault.vaultUrl } },
        ),
      );
      assert.deepEqual(
        error.failures.map((f) => f.variableName),
        ["DISABLED", "MISSING", "NO_VERSION"],
      );
      const [disabled, missing, noVersion] = error.failures;
      assert.match(
        disabled!.reason,
        new RegExp(
          `^the secret "${name}-off" of ${vault.vaultUrl} could not be read: 403 Forbidden: Operation get is not allowed on a disabled secret$`,
        ),
      );
      assert.match(
        missing!.reason,
        new RegExp(
          `^the secret "${name}-nope" of https://myvault\\.vault\\.azure\\.net \\(mapped to ${vault.vaultUrl}\\) could not be read: 404 SecretNotFound: A secret with \\(name/id\\) ${name}-nope was not found`,
        ),
      );
      assert.match(
        noVersion!.reason,
        new RegExp(`version 0{32} of ${vault.vaultUrl} could not be read: 404 SecretNotFound`),
      );
      assert.ok(
        error.message.startsWith("3 Key Vault references could not be resolved: DISABLED: "),
      );
      assert.ok(
        !error.message.includes("latest-value") && !error.message.includes("disabled-value"),
      );
    });

    it("refuses malformed references before any request, naming the variable and the syntax", async () => {
      const cases: Record<string, [string, string]> = {
        NO_PARENS: ["@Microsoft.KeyVault SecretUri=x", "it must be @Microsoft.KeyVault( ... )"],
        NOT_NAME_VALUE: ["@Microsoft.KeyVault(VaultName)", '"VaultName" is not Name=Value'],
        UNKNOWN: [
          "@Microsoft.KeyVault(VaultName=v1;SecretName=a;Colour=blue)",
          'unknown parameter "Colour"',
        ],
        NO_SECRET: [
          "@Microsoft.KeyVault(VaultName=myvault)",
          "it needs SecretUri, or VaultName and SecretName",
        ],
        TWICE: [
          "@Microsoft.KeyVault(VaultName=a1b;VaultName=c2d;SecretName=x)",
          "VaultName is given twice",
        ],
        MIXED: [
          "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/a;SecretName=a)",
          "SecretUri cannot be combined",
        ],
        BAD_VAULT: [
          "@Microsoft.KeyVault(VaultName=my_vault;SecretName=a)",
          'VaultName "my_vault" is not a vault name',
        ],
        BAD_NAME: [
          "@Microsoft.KeyVault(VaultName=myvault;SecretName=a.b)",
          'SecretName "a.b" is not a secret name',
        ],
        BAD_VERSION: [
          "@Microsoft.KeyVault(VaultName=myvault;SecretName=a;SecretVersion=v1)",
          'SecretVersion "v1" is not a version',
        ],
        RELATIVE: [
          "@Microsoft.KeyVault(SecretUri=/secrets/a)",
          'SecretUri "/secrets/a" is not an absolute URL',
        ],
        FTP: [
          "@Microsoft.KeyVault(SecretUri=ftp://myvault.vault.azure.net/secrets/a)",
          "must use https",
        ],
        QUERY: [
          "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/a?x=1)",
          "must not have a query",
        ],
        PATH: [
          "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/keys/a)",
          "must be <vault URL>/secrets/<name>/",
        ],
      };
      const env = Object.fromEntries(Object.entries(cases).map(([key, [value]]) => [key, value]));
      let tokenRequests = 0;
      const error = await rejection(
        resolveReferences(
          { ...env, FINE: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}/)` },
          {
            ...options,
            credential: {
              getToken: async () => {
                tokenRequests++;
                return null;
              },
            },
          },
        ),
      );
      assert.equal(tokenRequests, 0, "a request was made");
      assert.deepEqual(
        error.failures.map((f) => f.variableName),
        Object.keys(cases).sort(),
      );
      for (const failure of error.failures) {
        const [, why] = cases[failure.variableName]!;
        assert.ok(failure.reason.startsWith("malformed Key Vault reference ("), failure.reason);
        assert.ok(failure.reason.includes(why), `${failure.variableName}: ${failure.reason}`);
        assert.ok(failure.reason.endsWith(syntax), failure.reason);
      }
    });

    it("refuses a SecretUri on a host that is neither a vault nor loopback, unless mapped", async () => {
      const env = {
        ELSEWHERE: `@Microsoft.KeyVault(SecretUri=https://secrets.example.com/secrets/${name}/)`,
      };
      const error = await rejection(resolveReferences(env, options));
      assert.match(
        error.failures[0]!.reason,
        /names secrets\.example\.com, which is not a Key Vault host .* map it to a vault URL with KEYVAULT_REFERENCE_VAULTS/,
      );
      assert.deepEqual(
        await resolveReferences(env, {
          ...options,
          vaultUrls: { "https://secrets.example.com": vault.vaultUrl },
        }),
        { ELSEWHERE: "latest-value" },
      );
    });

    it("names every option a local vault needs, and where it goes, before any request or token", async () => {
      const credential = fixedTokenCredential();
      const env = {
        DB_PASSWORD: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}/)`,
        // The vault's own identity endpoint: still the caller's options and credential decide.
        IDENTITY_ENDPOINT: vault.identityEndpoint,
        IDENTITY_HEADER: vault.identityHeader,
      };
      for (const clientOptions of [undefined, { allowInsecureConnection: true }]) {
        const error = await rejection(
          resolveReferences(env, {
            credential,
            ...(clientOptions === undefined ? {} : { clientOptions }),
          }),
        );
        assert.equal(error.failures.length, 1);
        assert.equal(
          error.failures[0]!.reason,
          `the vault ${vault.vaultUrl} cannot be used: it is on this machine (a local vault), so resolveReferences' options need clientOptions: { allowInsecureConnection: true, disableChallengeResourceVerification: true }, and a credential whose token comes from that vault: new ManagedIdentityCredential() from @azure/identity with IDENTITY_ENDPOINT=${vault.vaultUrl}/__local/identity/token and IDENTITY_HEADER set as keyvault-emulator prints them (in tests, the local vault's credential). keyvault-secrets run and the preload keyvault-secrets/env do this themselves.`,
        );
        assert.ok(
          !error.message.includes(vault.identityHeader) &&
            !error.message.includes(credential.token),
        );
      }
      assert.equal(credential.calls.length, 0, "a token was asked for");
      // Done as the message says, the reference resolves.
      assert.deepEqual(await resolveReferences(env, options), { DB_PASSWORD: "latest-value" });
    });

    it("checks its arguments", async () => {
      await assert.rejects(resolveReferences(null as never, options), TypeError);
      await assert.rejects(
        resolveReferences({}, {} as never),
        /options\.credential must be a TokenCredential/,
      );
      await assert.rejects(
        resolveReferences({}, { ...options, vaultUrls: { myvault: "http://127.0.0.1:1/path" } }),
        /the URL for "myvault" must be a vault URL/,
      );
      await assert.rejects(
        resolveReferences({ KEYVAULT_REFERENCE_VAULTS: "myvault" }, options),
        /KEYVAULT_REFERENCE_VAULTS: "myvault" is not name=url/,
      );
      assert.deepEqual(await resolveReferences({ A: "plain" }, options), {});
    });

    it("rejects with an AbortError when aborted, before or during the reads", async () => {
      const env = { A: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}/)` };
      await assert.rejects(
        resolveReferences(env, { ...options, abortSignal: AbortSignal.abort() }),
        { name: "AbortError" },
      );
      vault.setFaults({ latencyMs: 2000 });
      try {
        const controller = new AbortController();
        const pending = resolveReferences(env, { ...options, abortSignal: controller.signal });
        setTimeout(() => controller.abort(), 50);
        await assert.rejects(pending, { name: "AbortError" });
      } finally {
        vault.setFaults({});
      }
    });
  });

  describe("keyvault-secrets run", () => {
    before(assertBuilt);

    it("resolves references of both forms, mapped by --reference-vault or KEYVAULT_REFERENCE_VAULTS, without a vault to load", async () => {
      const env = vaultEnv(vault, {
        KEYVAULT_URI: undefined,
        DIRECT: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}/${firstVersion})`,
        BY_NAME: `@Microsoft.KeyVault(VaultName=myvault;SecretName=${name})`,
        BY_URI: `@Microsoft.KeyVault(SecretUri=https://other.vault.azure.net/secrets/${name}/${firstVersion})`,
      });
      const expected = { DIRECT: "first-value", BY_NAME: "latest-value", BY_URI: "first-value" };
      const byFlag = await runCli(
        [
          "run",
          "--reference-vault",
          `myvault=${vault.vaultUrl}`,
          "--reference-vault",
          `other=${vault.vaultUrl}`,
          "--",
          ...printEnv("DIRECT", "BY_NAME", "BY_URI"),
        ],
        env,
      );
      assert.deepEqual(printedEnv(byFlag), expected);
      assert.equal(byFlag.stderr, "keyvault-secrets: resolved 3 references\n");
      const byVariable = await runCli(["run", "--", ...printEnv("DIRECT", "BY_NAME", "BY_URI")], {
        ...env,
        KEYVAULT_REFERENCE_VAULTS: `myvault=${vault.vaultUrl},other=${vault.vaultUrl}`,
      });
      assert.deepEqual(printedEnv(byVariable), expected);
    });

    it("starts nothing when a reference fails, naming the variable and why", async () => {
      const run = await runCli(["run", "--", process.execPath, "-e", "console.log('STARTED')"], {
        ...vaultEnv(vault, { KEYVAULT_URI: undefined }),
        DB_PASSWORD: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}-gone/)`,
        API_KEY: "@Microsoft.KeyVault(VaultName=myvault)",
      });
      assert.equal(run.code, 2);
      assert.equal(run.stdout, "");
      assert.match(
        run.stderr,
        /Key Vault references failed; nothing was loaded\. Each variable that failed, and why:\n {2}API_KEY: malformed Key Vault reference \(it needs SecretUri, or VaultName and SecretName\); expected @Microsoft/,
      );

      const missing = await runCli(
        ["run", "--", process.execPath, "-e", "console.log('STARTED')"],
        {
          ...vaultEnv(vault, { KEYVAULT_URI: undefined }),
          DB_PASSWORD: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${name}-gone/)`,
        },
      );
      assert.equal(missing.code, 1);
      assert.equal(missing.stdout, "");
      assert.match(
        missing.stderr,
        new RegExp(
          `\\n {2}DB_PASSWORD: the secret "${name}-gone" of ${vault.vaultUrl} could not be read: 404 SecretNotFound`,
        ),
      );
    });
  });
});
