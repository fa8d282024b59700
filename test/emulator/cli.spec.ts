import { strict as assert } from "node:assert";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { promises as fs } from "node:fs";
import { createServer, get as httpGet, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { get as httpsGet } from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { exposureWarning, startBanner } from "../../src/emulator/cli/cli.js";
import { runPageLink } from "../../src/emulator/cli/pageLink.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { helpText, parseCliArguments } from "../../src/emulator/cli/cliArguments.js";
import type { LocalVaultOptions } from "../../src/emulator/options.js";
import { generateSelfSignedCertificate } from "../../src/emulator/tls/tls.js";
import { assertBuilt } from "../helpers/childProcesses.js";
import { repoRoot } from "../helpers/testKit.js";

/** Parses and returns the options, failing the test on help. */
function optionsOf(argv: string[]): { options: LocalVaultOptions; caOut?: string } {
  const parsed = parseCliArguments(argv);
  assert.equal(parsed.help, false);
  if (parsed.help) {
    throw new Error("unreachable");
  }
  return parsed;
}

const allFlags = [
  "--help",
  "-h",
  "--host",
  "--port",
  "--location",
  "--https",
  "--cert",
  "--key",
  "--recoverable-days",
  "--recovery-level",
  "--strict-auth",
  "--delay-ms",
  "--tenant-id",
  "--empty-pages",
  "--claims-challenge",
  "--backup-key",
  "--throttle-limit",
  "--no-retry-after",
  "--error-rate",
  "--latency-ms",
  "--drop-rate",
  "--hostname",
  "--restore-conflict-after-purge-ms",
  "--headers-timeout-ms",
  "--request-timeout-ms",
  "--keep-alive-timeout-ms",
  "--max-connections",
  "--event-subscription",
  "--event-schema",
  "--near-expiry-days",
];

describe("parseCliArguments", () => {
  let directory: string;

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), "kv-cli-"));
  });

  after(async () => {
    await fs.rm(directory, { recursive: true, force: true });
  });

  it("defaults to 127.0.0.1:8443 over HTTP in memory", () => {
    assert.deepEqual(parseCliArguments([]), {
      help: false,
      options: { host: "127.0.0.1", port: 8443 },
      warnings: [],
    });
  });

  it("returns help for --help and -h, whatever else is given", () => {
    assert.deepEqual(parseCliArguments(["--help"]), { help: true });
    assert.deepEqual(parseCliArguments(["-h"]), { help: true });
    assert.deepEqual(parseCliArguments(["--port", "1", "-h"]), { help: true });
  });

  it("reads --host, --port (in both spellings) and --location", () => {
    const { options } = optionsOf(["--host", "0.0.0.0", "--port=0", "--location", "rel/dir"]);
    assert.deepEqual(options, {
      host: "0.0.0.0",
      port: 0,
      location: path.resolve("rel/dir"),
    });
    assert.equal(optionsOf(["--host", "[::1]"]).options.host, "::1");
    assert.equal(optionsOf(["--port", "65535"]).options.port, 65535);
  });

  it("reads --identity-header", () => {
    const header = "saved-identity-header-0123456789";
    assert.equal(optionsOf(["--identity-header", header]).options.identityHeader, header);
  });

  it("warns about a secret given as a flag (visible in ps), naming its variable, never its value", () => {
    const header = "saved-identity-header-0123456789";
    const key = Buffer.alloc(32, 7).toString("base64");
    const parsed = parseCliArguments(["--identity-header", header, `--backup-key=${key}`]);
    assert.equal(parsed.help, false);
    if (parsed.help) throw new Error("unreachable");
    assert.equal(parsed.warnings.length, 2);
    const [backupKey, identityHeader] = parsed.warnings;
    assert.match(backupKey, /WARNING: --backup-key on the command line is visible/);
    assert.match(backupKey, /set KEYVAULT_EMULATOR_BACKUP_KEY in the environment instead/);
    assert.match(identityHeader, /WARNING: --identity-header on the command line is visible/);
    assert.match(identityHeader, /set KEYVAULT_EMULATOR_IDENTITY_HEADER in the environment/);
    for (const warning of parsed.warnings) {
      assert.ok(!warning.includes(header) && !warning.includes(key), "no value in a warning");
    }
  });

  it("does not warn when the secrets come from the environment", () => {
    const parsed = parseCliArguments([], {
      KEYVAULT_EMULATOR_IDENTITY_HEADER: "saved-identity-header-0123456789",
      KEYVAULT_EMULATOR_BACKUP_KEY: Buffer.alloc(32, 7).toString("base64"),
    });
    assert.equal(parsed.help, false);
    if (parsed.help) throw new Error("unreachable");
    assert.equal(parsed.options.identityHeader, "saved-identity-header-0123456789");
    assert.deepEqual(parsed.warnings, []);
  });

  it("generates a certificate with --https and puts the CA next to the state or in the working directory", () => {
    assert.deepEqual(optionsOf(["--https"]), {
      options: { host: "127.0.0.1", port: 8443, https: true },
      caOut: path.resolve(process.cwd(), "keyvault-emulator-ca.pem"),
      help: false,
      warnings: [],
    });
    const withLocation = optionsOf(["--https", "--location", directory]);
    assert.equal(withLocation.caOut, path.join(directory, "keyvault-emulator-ca.pem"));
  });

  it("reads --cert and --key files, implying HTTPS without a CA file", async () => {
    const generated = generateSelfSignedCertificate({ hosts: ["localhost"] });
    const certFile = path.join(directory, "cert.pem");
    const keyFile = path.join(directory, "key.pem");
    await fs.writeFile(certFile, generated.cert);
    await fs.writeFile(keyFile, generated.key);
    const parsed = optionsOf(["--cert", certFile, "--key", keyFile]);
    assert.deepEqual(parsed.options.https, { cert: generated.cert, key: generated.key });
    assert.equal(parsed.caOut, undefined);
    assert.deepEqual(optionsOf(["--https", "--cert", certFile, "--key", keyFile]).options.https, {
      cert: generated.cert,
      key: generated.key,
    });
  });

  it("reads the vault behaviour flags", () => {
    const key = Buffer.alloc(32, 7).toString("base64");
    const { options } = optionsOf([
      "--recoverable-days",
      "7",
      "--recovery-level",
      "customizedrecoverable+purgeable",
      "--strict-auth",
      "--delay-ms",
      "0",
      "--tenant-id",
      "contoso.onmicrosoft.com",
      "--empty-pages",
      "--claims-challenge",
      "--backup-key",
      key,
    ]);
    assert.deepEqual(options, {
      host: "127.0.0.1",
      port: 8443,
      recoverableDays: 7,
      recoveryLevel: "CustomizedRecoverable+Purgeable",
      strictAuth: true,
      delayMs: 0,
      tenantId: "contoso.onmicrosoft.com",
      emptyPages: true,
      claimsChallenge: true,
      backupKey: key,
    });
    assert.equal(optionsOf(["--recoverable-days", "90"]).options.recoverableDays, 90);
  });

  it("reads --hostname, repeatable, in lower case", () => {
    const { options } = optionsOf(["--hostname", "KeyVault", "--hostname=vault.test"]);
    assert.deepEqual(options.hostnames, ["keyvault", "vault.test"]);
    assert.throws(
      () => parseCliArguments(["--hostname", "evil.com/x"]),
      (error: Error) => error instanceof RangeError && /^--hostname: /.test(error.message),
    );
  });

  it("reads the connection limits and the restore conflict window", () => {
    const { options } = optionsOf([
      "--headers-timeout-ms",
      "2000",
      "--request-timeout-ms",
      "4000",
      "--keep-alive-timeout-ms",
      "1000",
      "--max-connections",
      "10",
      "--restore-conflict-after-purge-ms",
      "0",
    ]);
    assert.equal(options.headersTimeoutInMs, 2000);
    assert.equal(options.requestTimeoutInMs, 4000);
    assert.equal(options.keepAliveTimeoutInMs, 1000);
    assert.equal(options.maxConnections, 10);
    assert.equal(options.restoreConflictAfterPurgeInMs, 0);
    assert.throws(
      () => parseCliArguments(["--headers-timeout-ms", "5000", "--request-timeout-ms", "100"]),
      /--request-timeout-ms must be from 5000/,
    );
    assert.throws(
      () => parseCliArguments(["--max-connections", "0"]),
      /--max-connections must be from 1/,
    );
  });

  it("warns, naming what is exposed, when listening beyond loopback", () => {
    const open = exposureWarning("0.0.0.0", false);
    assert.match(open, /WARNING: listening on 0\.0\.0\.0/);
    assert.match(open, /Any bearer token is accepted/);
    assert.match(open, /test controls/);
    assert.match(exposureWarning("192.168.1.5", true), /--strict-auth/);
    assert.match(open, /not encrypted: start with --https/);
    const encrypted = exposureWarning("0.0.0.0", false, true);
    assert.match(encrypted, /Traffic is encrypted \(--https\)/);
    assert.doesNotMatch(encrypted, /not encrypted/);
  });

  it("normalises a base64url backup key to base64", () => {
    const bytes = Buffer.alloc(32, 0xfb);
    const { options } = optionsOf([`--backup-key=${bytes.toString("base64url")}`]);
    assert.equal(options.backupKey, bytes.toString("base64"));
  });

  it("reads the fault flags", () => {
    const { options } = optionsOf([
      "--throttle-limit",
      "5",
      "--no-retry-after",
      "--error-rate",
      "0.25",
      "--latency-ms",
      "40",
      "--drop-rate",
      "1",
    ]);
    assert.deepEqual(options.faults, {
      throttleLimit: 5,
      throttleRetryAfter: false,
      errorRate: 0.25,
      latencyMs: 40,
      dropRate: 1,
    });
    assert.equal(optionsOf(["--error-rate", ".5"]).options.faults?.errorRate, 0.5);
    assert.equal(optionsOf(["--drop-rate", "0"]).options.faults?.dropRate, 0);
  });

  const errors: Array<[string, string[], ErrorConstructor | RangeErrorConstructor, RegExp]> = [
    [
      "a mistyped flag, with the flag meant",
      ["--prot", "80"],
      TypeError,
      /^Unknown option --prot \(did you mean --port\?\)\.$/,
    ],
    [
      "a mistyped switch, with the switch meant",
      ["--strict-ath"],
      TypeError,
      /^Unknown option --strict-ath \(did you mean --strict-auth\?\)\.$/,
    ],
    [
      "--versoin",
      ["--versoin"],
      TypeError,
      /^Unknown option --versoin \(did you mean --version\?\)\.$/,
    ],
    ["an unknown flag", ["--frobnicate"], TypeError, /^Unknown option --frobnicate\.$/],
    ["an unknown short flag", ["-x"], TypeError, /^Unknown option -x\.$/],
    [
      "a positional argument",
      ["serve"],
      TypeError,
      /^Unexpected argument 'serve': keyvault-emulator takes options only\.$/,
    ],
    [
      "a mistyped subcommand",
      ["exprot"],
      TypeError,
      /^Unexpected argument 'exprot': keyvault-emulator takes options only \(did you mean keyvault-emulator export\?\)\.$/,
    ],
    ["a missing value", ["--port"], TypeError, /--port/],
    ["a value for a switch", ["--https=yes"], TypeError, /--https/],
    [
      "a repeated flag",
      ["--port", "1", "--port", "2"],
      TypeError,
      /--port is given more than once/,
    ],
    [
      "a port that is not a number",
      ["--port", "http"],
      TypeError,
      /--port must be a whole number, got "http"/,
    ],
    ["a negative port", ["--port=-1"], TypeError, /--port must be a whole number/],
    [
      "a port above 65535",
      ["--port", "65536"],
      RangeError,
      /--port must be from 0 to 65535, got 65536/,
    ],
    ["an empty host", ["--host="], TypeError, /--host must be/],
    ["a host with spaces", ["--host", "local host"], TypeError, /--host must be/],
    ["an empty location", ["--location="], TypeError, /--location must name a directory/],
    [
      "a short identity header",
      ["--identity-header", "short"],
      RangeError,
      /--identity-header must be 16 to 256 visible ASCII characters/,
    ],
    ["--cert without --key", ["--cert", "c.pem"], TypeError, /--cert and --key go together/],
    ["--key without --cert", ["--key", "k.pem"], TypeError, /--cert and --key go together/],
    [
      "recoverable days below 7",
      ["--recoverable-days", "6"],
      RangeError,
      /--recoverable-days must be from 7 to 90/,
    ],
    [
      "recoverable days above 90",
      ["--recoverable-days", "91"],
      RangeError,
      /--recoverable-days must be from 7 to 90/,
    ],
    [
      "fractional recoverable days",
      ["--recoverable-days", "7.5"],
      TypeError,
      /--recoverable-days must be a whole number/,
    ],
    [
      "an unknown recovery level",
      ["--recovery-level", "Forever"],
      RangeError,
      /--recovery-level must be one of Purgeable, .*; got "Forever"/,
    ],
    ["a bad delay", ["--delay-ms", "soon"], TypeError, /--delay-ms must be a whole number/],
    [
      "a tenant with spaces",
      ["--tenant-id", "my tenant"],
      RangeError,
      /--tenant-id must be a tenant GUID or domain/,
    ],
    [
      "a backup key that is not base64",
      ["--backup-key", "not base64!"],
      RangeError,
      /--backup-key must be 32 bytes in base64/,
    ],
    [
      "a short backup key",
      ["--backup-key", Buffer.alloc(16).toString("base64")],
      RangeError,
      /--backup-key must be 32 bytes/,
    ],
    [
      "a throttle limit above 10^9",
      ["--throttle-limit", "1000000001"],
      RangeError,
      /--throttle-limit must be from 0 to 1000000000/,
    ],
    [
      "an error rate above 1",
      ["--error-rate", "1.5"],
      RangeError,
      /--error-rate must be from 0 to 1, got 1.5/,
    ],
    [
      "an error rate that is not a number",
      ["--error-rate", "half"],
      TypeError,
      /--error-rate must be a number from 0 to 1/,
    ],
    ["a drop rate above 1", ["--drop-rate", "2"], RangeError, /--drop-rate must be from 0 to 1/],
    ["a negative latency", ["--latency-ms=-5"], TypeError, /--latency-ms must be a whole number/],
  ];
  for (const [what, argv, type, message] of errors) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => parseCliArguments(argv),
        (error: Error) => {
          assert.equal(error.constructor, type, `${error.constructor.name}: ${error.message}`);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it("never repeats a rejected backup key in its message", () => {
    const secret = "c2VjcmV0LWtleS1ub3QtMzItYnl0ZXM=";
    assert.throws(
      () => parseCliArguments(["--backup-key", secret]),
      (error: Error) => !error.message.includes(secret) && !String(error.stack).includes(secret),
    );
  });

  it("rejects --cert and --key files that are missing or not PEM", async () => {
    const keyFile = path.join(directory, "only-key.pem");
    await fs.writeFile(keyFile, generateSelfSignedCertificate({ hosts: ["localhost"] }).key);
    const missing = path.join(directory, "missing.pem");
    assert.throws(
      () => parseCliArguments(["--cert", missing, "--key", keyFile]),
      (error: Error) =>
        error instanceof TypeError &&
        error.message.includes(`Cannot read the --cert file "${missing}"`) &&
        error.message.includes("ENOENT"),
    );
    assert.throws(
      () => parseCliArguments(["--cert", keyFile, "--key", keyFile]),
      /The --cert file ".*only-key.pem" is not PEM/,
    );
  });
});

describe("helpText", () => {
  it("mentions every flag", () => {
    for (const flag of allFlags) {
      assert.ok(
        new RegExp(`(^|[\\s,])${flag}(?=[\\s,=]|$)`, "m").test(helpText),
        `${flag} is missing from the help`,
      );
    }
  });

  it("shows the environment form of each secret before its flag", () => {
    for (const [variable, flag] of [
      ["KEYVAULT_EMULATOR_BACKUP_KEY=", "--backup-key"],
      ["KEYVAULT_EMULATOR_IDENTITY_HEADER=", "--identity-header"],
    ]) {
      const line = helpText.split("\n").find((text) => text.includes(flag)) ?? "";
      assert.ok(line.includes(variable), `${flag} is shown on the line of ${variable}`);
      assert.ok(line.indexOf(variable) < line.indexOf(flag), `${variable} comes first`);
      assert.ok(helpText.indexOf(variable) < helpText.indexOf(flag));
    }
    assert.match(
      helpText,
      /Give secrets \(the backup key, the identity\s+header\) in the environment/,
    );
  });

  it("documents the command's defaults", () => {
    assert.match(helpText, /^Usage: keyvault-emulator \[options\]/);
    assert.match(helpText, /default 127\.0\.0\.1/);
    assert.match(helpText, /default 8443/);
    assert.match(helpText, /keyvault-emulator-ca\.pem/);
  });
});

describe("keyvault-emulator command", function () {
  this.timeout(15000);
  // The built command, as `npx keyvault-emulator` runs it.
  const cliPath = path.join(repoRoot, "dist", "esm", "emulator", "bin.js");
  before(assertBuilt);

  interface Running {
    child: ChildProcessWithoutNullStreams;
    stdout: () => string;
    stderr: () => string;
    exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  }

  function run(args: string[]): Running {
    const child = spawn(process.execPath, [cliPath, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    return { child, stdout: () => stdout, stderr: () => stderr, exit };
  }

  /** Waits until the command printed its environment, returning the printed values. */
  async function started(running: Running): Promise<Record<string, string>> {
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (/Press Ctrl\+C to stop\./.test(running.stdout())) {
          resolve();
        }
      };
      running.child.stdout.on("data", check);
      void running.exit.then(() =>
        reject(new Error(`exited before starting: ${running.stdout()} ${running.stderr()}`)),
      );
      check();
    });
    return Object.fromEntries(
      [...running.stdout().matchAll(/^ {2}export ([A-Z_]+)=(\S+)$/gm)].map((match) => [
        match[1]!,
        match[2]!,
      ]),
    );
  }

  function request(
    url: string,
    ca?: string,
  ): Promise<{ status: number | undefined; headers: IncomingHttpHeaders; body: string }> {
    const get = url.startsWith("https:") ? httpsGet : httpGet;
    return new Promise((resolve, reject) => {
      get(url, { ca, agent: false }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode, headers: response.headers, body }),
        );
      }).on("error", reject);
    });
  }

  it("prints the help and exits 0", async () => {
    const running = run(["--help"]);
    assert.deepEqual(await running.exit, { code: 0, signal: null });
    assert.equal(running.stdout(), helpText);
  });

  it("exits 2 with the message and a pointer to --help on a bad argument", async () => {
    const running = run(["--port", "99999"]);
    assert.deepEqual(await running.exit, { code: 2, signal: null });
    assert.equal(running.stdout(), "");
    assert.match(running.stderr(), /--port must be from 0 to 65535, got 99999/);
    assert.match(running.stderr(), /keyvault-emulator --help/);
  });

  it("serves on the port it picked, answers 401 with a challenge, and exits 0 on SIGTERM", async () => {
    const running = run(["--port", "0", "--delay-ms", "0"]);
    try {
      const env = await started(running);
      assert.match(env.KEYVAULT_URI!, /^http:\/\/127\.0\.0\.1:(\d+)$/);
      assert.notEqual(env.KEYVAULT_URI, "http://127.0.0.1:0");
      assert.ok(running.stdout().includes(`listening on ${env.KEYVAULT_URI}`));
      assert.match(env.IDENTITY_ENDPOINT!, /^http:\/\/127\.0\.0\.1:\d+\//);
      assert.ok(env.IDENTITY_HEADER);
      assert.equal(env.NODE_EXTRA_CA_CERTS, undefined);
      assert.match(running.stdout(), /disableChallengeResourceVerification: true/);

      const response = await request(`${env.KEYVAULT_URI}/secrets/hello?api-version=7.6`);
      assert.equal(response.status, 401);
      assert.match(String(response.headers["www-authenticate"]), /^Bearer /);
    } finally {
      running.child.kill("SIGTERM");
    }
    assert.deepEqual(await running.exit, { code: 0, signal: null });
    assert.equal(running.stderr(), "");
  });

  it("prints a new page link on SIGUSR2, the vault still running", async () => {
    const running = run(["--port", "0"]);
    try {
      const env = await started(running);
      assert.match(running.stdout(), new RegExp(`kill -USR2 ${running.child.pid}`));
      const printed = new Promise<string>((resolve) => {
        const check = (): void => {
          const link = /^New page link \(opens once\): (\S+)$/m.exec(running.stdout())?.[1];
          if (link !== undefined) resolve(link);
        };
        running.child.stdout.on("data", check);
      });
      running.child.kill("SIGUSR2");
      const link = await printed;
      assert.ok(link.startsWith(`${env.KEYVAULT_URI}/__local/page?token=`), link);
      assert.equal((await request(link)).status, 303);
      assert.equal((await request(link)).status, 403, "it opens the page once");
    } finally {
      running.child.kill("SIGTERM");
    }
    assert.deepEqual(await running.exit, { code: 0, signal: null });
  });

  it("names the URL for clients that verify the challenge when --hostname has a parent domain", async () => {
    const running = run(["--port", "0", "--hostname", "myvault.localhost"]);
    try {
      const env = await started(running);
      const port = new URL(env.KEYVAULT_URI!).port;
      assert.ok(running.stdout().includes(`vault as http://myvault.localhost:${port}: there`));
      assert.doesNotMatch(running.stdout(), /disableChallengeResourceVerification/);
      const response = await request(`${env.KEYVAULT_URI}/secrets/hello?api-version=7.6`);
      assert.match(
        String(response.headers["www-authenticate"]),
        /resource="https:\/\/vault\.azure\.net"/,
      );
    } finally {
      running.child.kill("SIGTERM");
    }
    assert.deepEqual(await running.exit, { code: 0, signal: null });
  });

  it("warns on standard error when --identity-header is given as a flag", async () => {
    const header = "flag-identity-header-0123456789";
    const running = run(["--port", "0", "--identity-header", header]);
    try {
      const env = await started(running);
      assert.equal(env.IDENTITY_HEADER, header);
    } finally {
      running.child.kill("SIGTERM");
    }
    assert.deepEqual(await running.exit, { code: 0, signal: null });
    assert.match(
      running.stderr(),
      /WARNING: --identity-header on the command line is visible to every user of this machine \(ps, \/proc\); set KEYVAULT_EMULATOR_IDENTITY_HEADER in the environment instead\./,
    );
    assert.ok(!running.stderr().includes(header));
  });

  it("writes the generated CA under --location and serves HTTPS trusted by it", async () => {
    const location = await fs.mkdtemp(path.join(os.tmpdir(), "kv-cli-run-"));
    const running = run(["--port", "0", "--https", "--location", location]);
    try {
      const env = await started(running);
      const caPath = path.join(location, "keyvault-emulator-ca.pem");
      assert.equal(env.NODE_EXTRA_CA_CERTS, caPath);
      assert.match(env.KEYVAULT_URI!, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await fs.readFile(caPath, "utf8");
      assert.match(ca, /^-----BEGIN CERTIFICATE-----/);

      const response = await request(`${env.KEYVAULT_URI}/secrets/hello?api-version=7.6`, ca);
      assert.equal(response.status, 401);
      assert.match(String(response.headers["www-authenticate"]), /^Bearer /);
      await assert.rejects(request(`${env.KEYVAULT_URI}/secrets/hello?api-version=7.6`), {
        code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      });
    } finally {
      running.child.kill("SIGINT");
    }
    assert.deepEqual(await running.exit, { code: 0, signal: null });
    // The journal was closed: its lock is gone.
    await assert.rejects(fs.stat(path.join(location, "journal.lock")), { code: "ENOENT" });
    await fs.rm(location, { recursive: true, force: true });
  });
});

describe("keyvault-emulator start banner", () => {
  const facts = {
    vaultUrl: "http://127.0.0.1:8443",
    identityEndpoint: "http://127.0.0.1:8443/__local/identity/token",
    identityHeader: "header-with-'quote-0123456789",
    caPath: undefined,
    pageUrl: "http://127.0.0.1:8443/__local/page?token=t",
    location: undefined,
  };

  it("gives an environment block to paste into a shell, quoted where needed", () => {
    const banner = startBanner(facts);
    assert.match(banner, /^ {2}export KEYVAULT_URI=http:\/\/127\.0\.0\.1:8443$/m);
    assert.match(
      banner,
      /^ {2}export IDENTITY_ENDPOINT=http:\/\/127\.0\.0\.1:8443\/__local\/identity\/token$/m,
    );
    assert.ok(banner.includes("  export IDENTITY_HEADER='header-with-'\\''quote-0123456789'\n"));
  });

  it("names both loopback options for http, and tlsOptions: { ca } with the CA file for https", () => {
    const http = startBanner(facts);
    assert.match(
      http,
      /\{ allowInsecureConnection: true, disableChallengeResourceVerification: true \}/,
    );
    assert.doesNotMatch(http, /HTTPS agent/);
    const https = startBanner({
      ...facts,
      vaultUrl: "https://127.0.0.1:8443",
      caPath: "/tmp/vault dir/keyvault-emulator-ca.pem",
    });
    assert.match(https, /\{ disableChallengeResourceVerification: true, tlsOptions: \{ ca \} \}/);
    assert.ok(
      https.includes("  export NODE_EXTRA_CA_CERTS='/tmp/vault dir/keyvault-emulator-ca.pem'"),
    );
    assert.doesNotMatch(https, /HTTPS agent/);
    assert.match(https, /keyvault-emulator page-link/);
  });

  it("with a parent-domain host name: that URL, and no disableChallengeResourceVerification", () => {
    const banner = startBanner({ ...facts, parentDomainUrl: "http://myvault.localhost:8443" });
    assert.match(banner, /^ {2}\{ allowInsecureConnection: true \}$/m);
    assert.ok(banner.includes("vault as http://myvault.localhost:8443: there it challenges"));
    assert.doesNotMatch(banner, /disableChallengeResourceVerification/);
    assert.match(banner, /^ {2}export KEYVAULT_URI=http:\/\/127\.0\.0\.1:8443$/m);
  });
});

describe("keyvault-emulator page-link", () => {
  let vault: LocalVault;
  before(async () => {
    vault = await startLocalVault();
  });
  after(() => vault.close());

  async function pageLink(
    argv: string[],
    env: Record<string, string | undefined>,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const code = await runPageLink(argv, env, {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    });
    return { code, stdout, stderr };
  }

  it("prints a new link from the vault of IDENTITY_ENDPOINT, with IDENTITY_HEADER", async () => {
    const run = await pageLink([], {
      IDENTITY_ENDPOINT: vault.identityEndpoint,
      IDENTITY_HEADER: vault.identityHeader,
    });
    assert.equal(run.code, 0, run.stderr);
    const link = run.stdout.trim();
    assert.ok(link.startsWith(`${vault.vaultUrl}/__local/page?token=`), link);
    assert.equal((await fetch(link, { redirect: "manual" })).status, 303);
  });

  it("says what to set without IDENTITY_HEADER, and when the header is wrong", async () => {
    const none = await pageLink(["--vault", vault.vaultUrl], {});
    assert.equal(none.code, 1);
    assert.match(none.stderr, /set IDENTITY_HEADER to the value keyvault-emulator printed/);
    const wrong = await pageLink(["--vault", vault.vaultUrl], {
      IDENTITY_ENDPOINT: vault.identityEndpoint,
      IDENTITY_HEADER: "not-this-vaults-header",
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /refused the identity header: set IDENTITY_HEADER/);
    assert.ok(!wrong.stderr.includes("not-this-vaults-header"));
  });

  it("sends KEYVAULT_EMULATOR_IDENTITY_HEADER to a vault on this machine without IDENTITY_ENDPOINT", async () => {
    const run = await pageLink(["--vault", vault.vaultUrl], {
      KEYVAULT_EMULATOR_IDENTITY_HEADER: vault.identityHeader,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.startsWith(`${vault.vaultUrl}/__local/page?token=`), run.stdout);
  });

  it("sends the platform's IDENTITY_HEADER to no port of this machine but IDENTITY_ENDPOINT's vault", async () => {
    // A listener that is not the vault of IDENTITY_ENDPOINT (App Service's endpoint is elsewhere).
    let received: string | string[] | undefined;
    const squatter = createServer((req, res) => {
      received = req.headers["x-identity-header"];
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    try {
      const port = (squatter.address() as AddressInfo).port;
      for (const env of [
        { IDENTITY_HEADER: "platform-secret" },
        {
          IDENTITY_ENDPOINT: "http://localhost:8081/msi/token",
          IDENTITY_HEADER: "platform-secret",
        },
        { IDENTITY_ENDPOINT: vault.identityEndpoint, IDENTITY_HEADER: "platform-secret" },
      ]) {
        const run = await pageLink(["--vault", `http://127.0.0.1:${port}`], env);
        assert.equal(run.code, 1);
        assert.match(run.stderr, /IDENTITY_HEADER goes only to the vault of IDENTITY_ENDPOINT/);
        assert.ok(!run.stderr.includes("platform-secret"));
      }
      assert.equal(received, undefined, "no header reached the listener");
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  it("sends the header to no vault off this machine but IDENTITY_ENDPOINT's", async () => {
    const run = await pageLink(["--vault", "https://myvault.vault.azure.net"], {
      IDENTITY_ENDPOINT: vault.identityEndpoint,
      IDENTITY_HEADER: vault.identityHeader,
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /the identity header is sent to neither/);
  });
});
