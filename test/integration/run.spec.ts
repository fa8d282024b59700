import assert from "node:assert/strict";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  assertBuilt,
  cliPath,
  printedEnv,
  printEnv,
  repoRoot,
  runCli,
  start,
  startSquattedMachine,
  vaultEnv,
} from "./injectKit.js";
import { localClient, uniqueName } from "./integrationTestKit.js";

const marker = "<concealed by keyvault-secrets>";

/** The variable name of a secret name as run maps it. */
function toKey(name: string): string {
  return name.toUpperCase().replace(/-/g, "_");
}

describe("integration: keyvault-secrets run against the local vault", function () {
  this.timeout(30_000);
  let vault: LocalVault;
  let client: SecretClient;

  /** Stores secrets named `{prefix}{name}` and returns the prefix. */
  async function seed(
    secrets: Record<string, string>,
    tags?: Record<string, string>,
  ): Promise<string> {
    const prefix = `${uniqueName("run")}-`;
    for (const [name, value] of Object.entries(secrets)) {
      await client.setSecret(prefix + name, value, tags === undefined ? {} : { tags });
    }
    return prefix;
  }

  before(async () => {
    assertBuilt();
    vault = await startLocalVault({ delayMs: 10 });
    client = localClient(vault);
  });
  after(async () => {
    client.close();
    await vault.close();
  });

  it("starts the command with the secrets of a prefix as variables (--strip-prefix, --env-prefix)", async () => {
    const prefix = await seed({ "db--password": "p@ss w0rd", "api-key": "key-123" });
    const plain = printedEnv(
      await runCli(
        [
          "run",
          "--prefix",
          prefix,
          "--",
          ...printEnv(`${prefix.toUpperCase().replace(/-/g, "_")}API_KEY`),
        ],
        vaultEnv(vault),
      ),
    );
    assert.deepEqual(Object.values(plain), ["key-123"]);

    const run = await runCli(
      [
        "run",
        "--prefix",
        prefix,
        "--strip-prefix",
        "--env-prefix",
        "APP_",
        "--",
        ...printEnv("APP_DB__PASSWORD", "APP_API_KEY", "DB__PASSWORD"),
      ],
      vaultEnv(vault),
    );
    assert.deepEqual(printedEnv(run), {
      APP_DB__PASSWORD: "p@ss w0rd",
      APP_API_KEY: "key-123",
      DB__PASSWORD: null,
    });
    assert.equal(
      run.stderr,
      `keyvault-secrets: loaded 2 secrets from ${vault.vaultUrl}\n`,
      "a successful run prints one line of its own: how many secrets, no names",
    );
  });

  it("selects secrets with --names and --tag, and takes the vault from --vault", async () => {
    const prefix = await seed({ one: "value-one", two: "value-two" });
    await client.setSecret(`${prefix}three`, "value-three", { tags: { team: "billing" } });
    await client.setSecret(`${prefix}four`, "value-four", { tags: { team: "orders" } });
    const keys = ["ONE", "TWO", "THREE", "FOUR"];
    const byNames = await runCli(
      [
        "run",
        "--vault",
        vault.vaultUrl,
        "--names",
        `${prefix}one`,
        "--names",
        `${prefix}four`,
        "--prefix",
        prefix,
        "--strip-prefix",
        "--",
        ...printEnv(...keys),
      ],
      vaultEnv(vault, { KEYVAULT_URI: undefined }),
    );
    assert.deepEqual(printedEnv(byNames), {
      ONE: "value-one",
      TWO: null,
      THREE: null,
      FOUR: "value-four",
    });
    const byTag = await runCli(
      [
        "run",
        "--tag",
        "team=billing",
        "--prefix",
        prefix,
        "--strip-prefix",
        "--",
        ...printEnv(...keys),
      ],
      vaultEnv(vault),
    );
    assert.deepEqual(printedEnv(byTag), { ONE: null, TWO: null, THREE: "value-three", FOUR: null });
    const byTagName = await runCli(
      ["run", "--tag", "team", "--prefix", prefix, "--strip-prefix", "--", ...printEnv(...keys)],
      vaultEnv(vault),
    );
    assert.deepEqual(printedEnv(byTagName), {
      ONE: null,
      TWO: null,
      THREE: "value-three",
      FOUR: "value-four",
    });
  });

  it("leaves variables that are already set (even empty) unless --override", async () => {
    const prefix = await seed({ token: "from-vault", empty: "from-vault-too", fresh: "new-value" });
    const env = vaultEnv(vault, { TOKEN: "from-operator", EMPTY: "" });
    const args = [
      "--prefix",
      prefix,
      "--strip-prefix",
      "--",
      ...printEnv("TOKEN", "EMPTY", "FRESH"),
    ];
    assert.deepEqual(printedEnv(await runCli(["run", ...args], env)), {
      TOKEN: "from-operator",
      EMPTY: "",
      FRESH: "new-value",
    });
    assert.deepEqual(printedEnv(await runCli(["run", "--override", ...args], env)), {
      TOKEN: "from-vault",
      EMPTY: "from-vault-too",
      FRESH: "new-value",
    });
  });

  it("exits with the command's status", async () => {
    const prefix = await seed({ any: "value" });
    for (const status of [0, 3, 42]) {
      const run = await runCli(
        ["run", "--prefix", prefix, "--", process.execPath, "-e", `process.exit(${status})`],
        vaultEnv(vault),
      );
      assert.equal(run.code, status, run.stderr);
    }
  });

  it("ends by the command's signal when the command is killed", async () => {
    const prefix = await seed({ any: "value" });
    const run = await runCli(
      [
        "run",
        "--prefix",
        prefix,
        "--",
        process.execPath,
        "-e",
        "process.kill(process.pid, 'SIGTERM')",
      ],
      vaultEnv(vault),
    );
    assert.equal(run.signal, "SIGTERM", `code ${run.code}: ${run.stderr}`);
  });

  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    it(`forwards ${signal} to the command and exits as the command does`, async () => {
      const prefix = await seed({ any: "value" });
      const script = `process.on(${JSON.stringify(signal)}, () => { console.log("child got ${signal}"); process.exit(7); }); console.log("ready"); setInterval(() => {}, 1000);`;
      const running = start(
        process.execPath,
        [cliPath, "run", "--prefix", prefix, "--", process.execPath, "-e", script],
        vaultEnv(vault),
      );
      await running.waitForOutput("ready");
      running.child.kill(signal);
      const run = await running.finished;
      assert.ok(run.stdout.includes(`child got ${signal}`), run.stdout + run.stderr);
      assert.equal(run.code, 7);
    });
  }

  it("--mask conceals every loaded value in stdout and stderr, also when split across writes", async () => {
    const prefix = await seed({
      password: "correct-horse-battery",
      token: "tok-0123456789",
      pin: "1234",
    });
    const script = [
      "const e = process.env;",
      // Half a value, a pause so the halves reach the masker as separate chunks, the other half.
      "const p = e.PASSWORD;",
      "process.stdout.write('pw=' + p.slice(0, 5));",
      "setTimeout(() => {",
      "  process.stdout.write(p.slice(5) + ' end\\n');",
      "  process.stderr.write('token ' + e.TOKEN + ' twice ' + e.TOKEN + '\\n');",
      "  process.stdout.write('pin=' + e.PIN + ' almost=' + p.slice(0, -1) + '\\n');",
      "}, 50);",
    ].join("\n");
    const run = await runCli(
      ["run", "--mask", "--prefix", prefix, "--strip-prefix", "--", process.execPath, "-e", script],
      vaultEnv(vault),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `pw=${marker} end\npin=1234 almost=correct-horse-batter\n`);
    assert.ok(run.stderr.includes(`token ${marker} twice ${marker}\n`), run.stderr);
    assert.ok(!run.stderr.includes("tok-0123456789"));
    assert.match(run.stderr, /not masked, shorter than 6 characters: PIN\n/);
  });

  it("starts nothing when the load fails, and names what failed and why", async () => {
    const prefix = await seed({ any: "value" });
    const run = await runCli(
      ["run", "--prefix", prefix, "--", process.execPath, "-e", "console.log('STARTED')"],
      vaultEnv(vault, { IDENTITY_HEADER: "not-the-header" }),
    );
    assert.equal(run.code, 1);
    assert.ok(!run.stdout.includes("STARTED"), "the command was started");
    assert.match(
      run.stderr,
      new RegExp(
        `Could not load the secrets of ${vault.vaultUrl.replace(/\./g, "\\.")}; nothing was loaded\\. Each secret that failed, and why:\\n {2}\\(listing\\): [\\s\\S]*x-identity-header value is not valid`,
      ),
    );
  });

  describe("--names against missing, disabled and expired secrets", () => {
    const started = [process.execPath, "-e", "console.log('STARTED')"];

    it("starts nothing when a name is missing from the vault, naming it", async () => {
      const prefix = await seed({ present: "present-value" });
      const run = await runCli(
        ["run", "--names", `${prefix}present,${prefix}absent`, "--", ...started],
        vaultEnv(vault),
      );
      assert.equal(run.code, 1, run.stderr);
      assert.ok(!run.stdout.includes("STARTED"), "the command was started");
      assert.match(run.stderr, new RegExp(`\\n {2}${prefix}absent: [^\\n]*not found`, "i"));
      assert.ok(!run.stderr.includes(`${prefix}present:`), run.stderr);
      assert.ok(!run.stderr.includes("present-value"), "a value was printed");
    });

    it("starts nothing when a named secret is disabled, naming it", async () => {
      const prefix = await seed({ live: "live-value" });
      await client.setSecret(`${prefix}off`, "off-value", { enabled: false });
      const run = await runCli(
        ["run", "--names", `${prefix}live,${prefix}off`, "--", ...started],
        vaultEnv(vault),
      );
      assert.equal(run.code, 1, run.stderr);
      assert.ok(!run.stdout.includes("STARTED"), "the command was started");
      assert.match(run.stderr, new RegExp(`\\n {2}${prefix}off: [^\\n]*disabled`, "i"));
      assert.ok(!/live-value|off-value/.test(run.stderr), "a value was printed");
    });

    it("--allow-missing (or KEYVAULT_SECRETS_ALLOW_MISSING) starts the command without them, naming them in a warning", async () => {
      const prefix = await seed({ live: "live-value" });
      await client.setSecret(`${prefix}off`, "off-value", { enabled: false });
      const keys = ["live", "off", "absent"].map((n) =>
        `${prefix}${n}`.toUpperCase().replace(/-/g, "_"),
      );
      const names = ["live", "off", "absent"].map((n) => prefix + n).join(",");
      const expected = { [keys[0]!]: "live-value", [keys[1]!]: null, [keys[2]!]: null };
      const byFlag = await runCli(
        ["run", "--names", names, "--allow-missing", "--", ...printEnv(...keys)],
        vaultEnv(vault),
      );
      assert.deepEqual(printedEnv(byFlag), expected);
      assert.match(
        byFlag.stderr,
        new RegExp(`skipped, missing or disabled in the vault: ${prefix}absent, ${prefix}off`),
      );
      const byVariable = await runCli(
        ["run", "--names", names, "--", ...printEnv(...keys)],
        vaultEnv(vault, { KEYVAULT_SECRETS_ALLOW_MISSING: "true" }),
      );
      assert.deepEqual(printedEnv(byVariable), expected);
      assert.ok(!/live-value|off-value/.test(byFlag.stderr + byVariable.stderr));
    });

    it("leaves out an expired secret with a warning naming it (never its value)", async () => {
      const prefix = await seed({ fresh: "fresh-value" });
      await client.setSecret(`${prefix}stale`, "stale-value", {
        expiresOn: new Date(Date.now() - 60_000),
      });
      const keys = ["fresh", "stale"].map((n) => `${prefix}${n}`.toUpperCase().replace(/-/g, "_"));
      for (const selection of [
        ["--prefix", prefix],
        ["--names", `${prefix}fresh,${prefix}stale`],
      ]) {
        const run = await runCli(
          ["run", ...selection, "--", ...printEnv(...keys)],
          vaultEnv(vault),
        );
        assert.deepEqual(printedEnv(run), { [keys[0]!]: "fresh-value", [keys[1]!]: null });
        assert.match(
          run.stderr,
          new RegExp(`keyvault-secrets: skipped, expired: ${prefix}stale\\n`),
        );
        assert.ok(!run.stderr.includes("stale-value"), "a value was printed");
      }
    });

    it("a reference to an expired secret resolves, as on App Service", async () => {
      const prefix = await seed({});
      await client.setSecret(`${prefix}old`, "old-value", {
        expiresOn: new Date(Date.now() - 60_000),
      });
      const run = await runCli(["run", "--", ...printEnv("OLD")], {
        ...vaultEnv(vault, { KEYVAULT_URI: undefined }),
        OLD: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${prefix}old/)`,
      });
      assert.deepEqual(printedEnv(run), { OLD: "old-value" });
    });
  });

  for (const [signal, status] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    it(`${signal} during the load aborts it, starts nothing and exits with ${status}`, async () => {
      // A vault that never answers: the load is certainly running when the request arrives.
      let requested!: () => void;
      const arrived = new Promise<void>((resolve) => (requested = resolve));
      const hanging = createServer(() => requested());
      hanging.listen(0, "127.0.0.1");
      await once(hanging, "listening");
      try {
        const { port } = hanging.address() as AddressInfo;
        const started = start(
          process.execPath,
          [
            cliPath,
            "run",
            "--names",
            "anything",
            "--",
            process.execPath,
            "-e",
            "console.log('STARTED')",
          ],
          vaultEnv(vault, {
            KEYVAULT_URI: `http://127.0.0.1:${port}`,
            IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/__local/identity/token`,
          }),
        );
        await arrived;
        started.child.kill(signal);
        const run = await started.finished;
        assert.equal(run.code, status, run.stderr);
        assert.ok(!run.stdout.includes("STARTED"), "the command was started");
        assert.match(
          run.stderr,
          new RegExp(`Interrupted by ${signal} while loading the secrets; nothing was started\\.`),
        );
      } finally {
        hanging.closeAllConnections();
        hanging.close();
      }
    });
  }

  it("reaches a local vault over HTTPS with its generated CA (NODE_EXTRA_CA_CERTS)", async () => {
    const tlsVault = await startLocalVault({ https: true, delayMs: 10 });
    const dir = mkdtempSync(join(tmpdir(), "kvs-ca-"));
    try {
      const caFile = join(dir, "ca.pem");
      writeFileSync(caFile, tlsVault.caCertificate!, { mode: 0o600 });
      const tlsClient = new SecretClient(tlsVault.vaultUrl, tlsVault.credential, {
        disableChallengeResourceVerification: true,
        tlsOptions: { ca: tlsVault.caCertificate! },
      });
      await tlsClient.setSecret("tls-secret", "over-https");
      tlsClient.close();
      const run = await runCli(
        ["run", "--names", "tls-secret", "--", ...printEnv("TLS_SECRET")],
        vaultEnv(tlsVault, { NODE_EXTRA_CA_CERTS: caFile }),
      );
      assert.deepEqual(printedEnv(run), { TLS_SECRET: "over-https" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await tlsVault.close();
    }
  });

  it("refuses a local vault when the token would not come from a local identity endpoint", async () => {
    for (const env of [
      vaultEnv(vault, { IDENTITY_ENDPOINT: undefined }),
      vaultEnv(vault, { IDENTITY_ENDPOINT: "https://login.example.com/token" }),
      vaultEnv(vault, { IDENTITY_HEADER: undefined }),
    ]) {
      const run = await runCli(
        ["run", "--", process.execPath, "-e", "console.log('STARTED')"],
        env,
      );
      assert.equal(run.code, 1);
      assert.equal(run.stdout, "");
      assert.match(
        run.stderr,
        /is on this machine \(a local vault\), but IDENTITY_ENDPOINT and IDENTITY_HEADER do not name that vault's own identity endpoint/,
      );
    }
  });

  it("sends no token to a process squatting a local vault's port when the identity endpoint is the platform's", async () => {
    const machine = await startSquattedMachine();
    try {
      const started = [process.execPath, "-e", "console.log('STARTED')"];
      for (const env of [
        machine.env(),
        machine.env({
          KEYVAULT_URI: undefined,
          DB_PASSWORD: `@Microsoft.KeyVault(SecretUri=${machine.squatter.url}/secrets/db-password/)`,
        }),
        machine.env({
          KEYVAULT_URI: undefined,
          KEYVAULT_REFERENCE_VAULTS: `myvault=${machine.squatter.url}`,
          DB_PASSWORD: "@Microsoft.KeyVault(VaultName=myvault;SecretName=db-password)",
        }),
      ]) {
        const run = await runCli(["run", "--", ...started], env);
        assert.deepEqual(machine.platform.resources, [], "a platform token was requested");
        assert.deepEqual(machine.squatter.authorizations, [], "a token reached the squatter");
        assert.equal(run.code, 1, run.stderr);
        assert.equal(run.stdout, "");
        assert.ok(
          run.stderr.includes(
            `IDENTITY_ENDPOINT=${machine.squatter.url}/__local/identity/token and its IDENTITY_HEADER`,
          ),
          run.stderr,
        );
      }
    } finally {
      await machine.close();
    }
  });

  it("takes a local vault's token from its identity endpoint only, never from a service principal of the environment", async () => {
    const prefix = await seed({ "db-password": "local-value" });
    // A service principal that DefaultAzureCredential would try first; its authority cannot be
    // reached, so asking it fails the load.
    const run = await runCli(
      ["run", "--names", `${prefix}db-password`, "--", ...printEnv(`${toKey(prefix)}DB_PASSWORD`)],
      vaultEnv(vault, {
        AZURE_TENANT_ID: "00000000-0000-0000-0000-000000000001",
        AZURE_CLIENT_ID: "00000000-0000-0000-0000-000000000002",
        AZURE_CLIENT_SECRET: "service-principal-secret",
        AZURE_AUTHORITY_HOST: "https://127.0.0.1:1",
      }),
    );
    assert.deepEqual(printedEnv(run), { [`${toKey(prefix)}DB_PASSWORD`]: "local-value" });
  });

  describe("a secret's name never chooses a variable that runs code", () => {
    let hostile: LocalVault;
    let dir: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "kvs-hostile-"));
      const payload = join(dir, "payload.cjs");
      writeFileSync(payload, "console.log('PAYLOAD RAN')");
      hostile = await startLocalVault({
        delayMs: 0,
        seed: {
          secrets: [
            { name: "node-options", value: `--require ${payload}` },
            { name: "bash-env", value: join(dir, "payload.sh") },
            { name: "ld-preload", value: join(dir, "payload.so") },
            { name: "path", value: dir },
            { name: "https-proxy", value: "http://127.0.0.1:9" },
            { name: "keyvault-uri", value: "https://elsewhere.vault.azure.net" },
            { name: "db-password", value: "ordinary-value" },
          ],
        },
      });
    });
    after(async () => {
      await hostile.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const keys = ["NODE_OPTIONS", "BASH_ENV", "LD_PRELOAD", "HTTPS_PROXY", "DB_PASSWORD"];

    it("loading all secrets leaves them out and says which and why, never their values", async () => {
      const run = await runCli(["run", "--", ...printEnv(...keys)], vaultEnv(hostile));
      assert.ok(!run.stdout.includes("PAYLOAD RAN"), "the payload ran");
      assert.deepEqual(printedEnv(run), {
        NODE_OPTIONS: null,
        BASH_ENV: null,
        LD_PRELOAD: null,
        HTTPS_PROXY: null,
        DB_PASSWORD: "ordinary-value",
      });
      const line = run.stderr.split("\n").find((l) => l.includes("not set"));
      assert.ok(line !== undefined, run.stderr);
      assert.match(
        line,
        /^keyvault-secrets: not set, a secret may choose these variables only when listed by name \(--names, KEYVAULT_SECRETS_NAMES\): /,
      );
      for (const refused of [
        "BASH_ENV <- bash-env: a shell runs",
        "HTTPS_PROXY <- https-proxy: it sends requests, with their tokens, through another host",
        "KEYVAULT_URI <- keyvault-uri: it configures keyvault-secrets itself",
        "LD_PRELOAD <- ld-preload: the dynamic loader",
        "NODE_OPTIONS <- node-options: Node.js loads the code it names",
        "PATH <- path: it chooses which program runs",
      ]) {
        assert.ok(line.includes(refused), `${refused} missing from: ${line}`);
      }
      assert.ok(!run.stderr.includes(dir) && !run.stderr.includes("127.0.0.1:9"), run.stderr);
    });

    it("sets one when --names lists its secret, and an --env-prefix makes the names harmless", async () => {
      const named = await runCli(
        ["run", "--names", "node-options,db-password", "--", ...printEnv("NODE_OPTIONS")],
        vaultEnv(hostile),
      );
      assert.ok(named.stdout.includes("PAYLOAD RAN"), "NODE_OPTIONS was not set");
      assert.match(printedEnv(named).NODE_OPTIONS ?? "", /^--require /);
      assert.ok(!named.stderr.includes("not set"), named.stderr);

      const prefixed = await runCli(
        ["run", "--env-prefix", "APP_", "--", ...printEnv("APP_NODE_OPTIONS", "APP_PATH")],
        vaultEnv(hostile),
      );
      assert.deepEqual(printedEnv(prefixed), {
        APP_NODE_OPTIONS: `--require ${join(dir, "payload.cjs")}`,
        APP_PATH: dir,
      });
      assert.ok(!prefixed.stderr.includes("not set"), prefixed.stderr);
    });
  });

  it("refuses a value with a NUL character by the secret's name, never quoting it", async () => {
    const prefix = await seed({ "nul-value": "before\u0000after-hidden-part" });
    const started = [process.execPath, "-e", "console.log('STARTED')"];
    const direct = await runCli(
      ["run", "--names", `${prefix}nul-value`, "--", ...started],
      vaultEnv(vault),
    );
    const byReference = await runCli(["run", "--", ...started], {
      ...vaultEnv(vault, { KEYVAULT_URI: undefined }),
      NUL_REF: `@Microsoft.KeyVault(SecretUri=${vault.vaultUrl}/secrets/${prefix}nul-value/)`,
    });
    for (const [run, named] of [
      [direct, `NUL character, which an environment variable cannot carry: ${prefix}nul-value.`],
      [
        byReference,
        `NUL_REF: the secret "${prefix}nul-value" of ${vault.vaultUrl} holds a NUL character`,
      ],
    ] as const) {
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stdout, "", "the command was started");
      assert.ok(run.stderr.includes(named), run.stderr);
      assert.ok(!/after-hidden|before/.test(run.stderr), run.stderr);
    }
  });

  describe("how many secrets were loaded, and filters that match nothing", () => {
    it("says how many secrets were loaded, in one line; --verbose names them, never a value", async () => {
      const prefix = await seed({ one: "count-value-1" });
      const quiet = await runCli(
        ["run", "--prefix", prefix, "--", process.execPath, "-e", "0"],
        vaultEnv(vault),
      );
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal(quiet.stderr, `keyvault-secrets: loaded 1 secret from ${vault.vaultUrl}\n`);
      await client.setSecret(`${prefix}two`, "count-value-2");
      for (const [args, env] of [
        [["--verbose"], vaultEnv(vault)],
        [[], vaultEnv(vault, { KEYVAULT_SECRETS_VERBOSE: "on" })],
      ] as const) {
        const verbose = await runCli(
          ["run", "--prefix", prefix, ...args, "--", process.execPath, "-e", "0"],
          env,
        );
        assert.equal(verbose.code, 0, verbose.stderr);
        assert.equal(
          verbose.stderr,
          `keyvault-secrets: loaded 2 secrets from ${vault.vaultUrl}: ${prefix}one, ${prefix}two\n`,
        );
      }
    });

    it("starts nothing when --prefix or --tag matches no secret, naming the filter and --allow-empty", async () => {
      const prefix = await seed({ present: "present-value" }, { team: "billing" });
      for (const [filter, named] of [
        [["--prefix", `${prefix}typo-`], `--prefix "${prefix}typo-"`],
        [
          ["--prefix", prefix, "--tag", "team=Billing"],
          `--prefix "${prefix}" and --tag "team=Billing"`,
        ],
      ] as const) {
        const run = await runCli(
          ["run", ...filter, "--", process.execPath, "-e", "console.log('started')"],
          vaultEnv(vault),
        );
        assert.equal(run.code, 1, run.stderr);
        assert.equal(run.stdout, "", "the command was started");
        assert.equal(
          run.stderr,
          `keyvault-secrets: Nothing was loaded: no secret of ${vault.vaultUrl} matched ${named}. Check the filter${filter.length > 2 ? "s" : ""} (a prefix matches the start of a name in any case; a tag, its name and value exactly), or pass --allow-empty (or set KEYVAULT_SECRETS_ALLOW_EMPTY=true) to start with no secrets.\n`,
        );
        assert.ok(!run.stderr.includes("present-value"));
      }
    });

    it("--allow-empty (or KEYVAULT_SECRETS_ALLOW_EMPTY) starts the command with no secrets, saying so", async () => {
      const prefix = `${uniqueName("empty")}-`;
      for (const [args, env] of [
        [["--allow-empty"], vaultEnv(vault)],
        [[], vaultEnv(vault, { KEYVAULT_SECRETS_ALLOW_EMPTY: "YES" })],
      ] as const) {
        const run = await runCli(
          [
            "run",
            "--prefix",
            prefix,
            ...args,
            "--",
            process.execPath,
            "-e",
            "console.log('started')",
          ],
          env,
        );
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, "started\n");
        assert.equal(run.stderr, `keyvault-secrets: loaded 0 secrets from ${vault.vaultUrl}\n`);
      }
    });
  });

  it("reports usage errors with status 2 and starts nothing", async () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [
        ["run", "--", "node"],
        vaultEnv(vault, { KEYVAULT_URI: undefined }),
        /No vault: pass --vault URL or set KEYVAULT_URI/,
      ],
      [["run", "node", "app.js"], vaultEnv(vault), /Put the command after --/],
      [["run", "--prefix", "x"], vaultEnv(vault), /Put the command after --/],
      [["run", "--strip-prefix", "--", "node"], vaultEnv(vault), /--strip-prefix needs --prefix/],
      [
        ["run", "--frobnicate", "--", "node"],
        vaultEnv(vault),
        /^keyvault-secrets: Unknown option --frobnicate\.\nSee keyvault-secrets run --help\.\n$/,
      ],
      [
        ["run", "--prefx", "orders-", "--", "node"],
        vaultEnv(vault),
        /^keyvault-secrets: Unknown option --prefx \(did you mean --prefix\?\)\.\nSee keyvault-secrets run --help\.\n$/,
      ],
      [
        ["run", "--allow-emtpy", "--", "node"],
        vaultEnv(vault),
        /Unknown option --allow-emtpy \(did you mean --allow-empty\?\)/,
      ],
      [
        ["run", "--", "node"],
        vaultEnv(vault, { KEYVAULT_SECRETS_ALLOW_EMPTY: "maybe" }),
        /KEYVAULT_SECRETS_ALLOW_EMPTY must be true or false \(also 1\/0, yes\/no, on\/off\)/,
      ],
      [
        ["run", "--tag", "=x", "--", "node"],
        vaultEnv(vault),
        /--tag must be a tag name or name=value/,
      ],
      [
        ["run", "--vault", "not a url", "--", "node"],
        vaultEnv(vault),
        /"not a url" is not a vault URL/,
      ],
      [["deploy"], vaultEnv(vault), /Unknown command "deploy"\. /],
      [["rnu", "--", "node"], vaultEnv(vault), /Unknown command "rnu" \(did you mean run\?\)/],
      [
        ["run", "--reference-vault", "myvault", "--", "node"],
        vaultEnv(vault),
        /"myvault" is not name=url/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const run = await runCli(args, env);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });

  it("reports a command that cannot be found with status 127", async () => {
    const prefix = await seed({ any: "value" });
    const run = await runCli(
      ["run", "--prefix", prefix, "--", "no-such-command-kvs"],
      vaultEnv(vault),
    );
    assert.equal(run.code, 127);
    assert.match(run.stderr, /no-such-command-kvs: command not found/);
  });

  it("--help shows the options and examples, without touching a vault", async () => {
    for (const args of [["--help"], ["run", "--help"], ["run", "-h"]]) {
      const run = await runCli(args, { PATH: process.env["PATH"] });
      assert.equal(run.code, 0);
      for (const text of [
        "Usage: keyvault-secrets run [options] -- command [args...]",
        "--strip-prefix",
        "--mask",
        "--allow-empty",
        "--verbose",
        "1/0, true/false, yes/no or on/off",
        "Examples:",
        "npm install @azure/identity",
      ]) {
        assert.ok(run.stdout.includes(text), `help lacks ${text}`);
      }
    }
    const bare = await runCli([], { PATH: process.env["PATH"] });
    assert.equal(bare.code, 2);
    assert.match(bare.stdout, /Usage: keyvault-secrets run/);
  });

  it("never prints a value: not on success, not on failure", async () => {
    const prefix = await seed({ "never-printed": "sup3r-s3cret-value" });
    const runs = [
      await runCli(["run", "--prefix", prefix, "--", process.execPath, "-e", "0"], vaultEnv(vault)),
      await runCli(["run", "--prefix", prefix, "--", "no-such-command-kvs"], vaultEnv(vault)),
      await runCli(
        ["run", "--prefix", prefix, "--", process.execPath, "-e", "0"],
        vaultEnv(vault, { BROKEN: "@Microsoft.KeyVault(SecretName=x)" }),
      ),
    ];
    for (const run of runs) {
      assert.ok(!(run.stdout + run.stderr).includes("sup3r-s3cret-value"));
    }
  });

  it("says how to install @azure/identity when it is missing", async function () {
    // A copy of the built package whose node_modules has everything but @azure/identity.
    const dir = mkdtempSync(join(tmpdir(), "kvs-noidentity-"));
    try {
      cpSync(join(repoRoot, "dist/esm"), join(dir, "dist/esm"), { recursive: true });
      const modules = join(dir, "node_modules");
      mkdirSync(join(modules, "@azure"), { recursive: true });
      for (const entry of readdirSync(join(repoRoot, "node_modules"))) {
        if (entry === "@azure" || entry === ".bin") continue;
        symlinkSync(join(repoRoot, "node_modules", entry), join(modules, entry));
      }
      for (const entry of readdirSync(join(repoRoot, "node_modules/@azure"))) {
        if (entry === "identity") continue;
        symlinkSync(join(repoRoot, "node_modules/@azure", entry), join(modules, "@azure", entry));
      }
      const run = await start(
        process.execPath,
        [
          join(dir, "dist/esm/inject/bin.js"),
          "run",
          "--",
          process.execPath,
          "-e",
          "console.log('STARTED')",
        ],
        vaultEnv(vault),
      ).finished;
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stdout, "");
      assert.match(
        run.stderr,
        /@azure\/identity is not installed\..*`npm install @azure\/identity`/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
