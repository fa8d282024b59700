import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  appDirectory,
  assertBuilt,
  cliPath,
  start,
  startVaultProxy,
  vaultEnv,
  type Started,
  type VaultProxy,
} from "./injectKit.js";
import { localClient, uniqueName } from "./integrationTestKit.js";

// Watching is driven by short intervals through the test seam (millisecond durations, fast
// retries, a seeded jitter); every assertion is on the order of lines and events, never on time.
const testTiming = { KEYVAULT_SECRETS_TEST_TIMING: "1" };

const isList = (method: string, path: string): boolean => method === "GET" && path === "/secrets";

/** The lines a process printed, without the empty last one. */
function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/**
 * The command run --watch starts: prints `started` and the variables (- when unset) and, with
 * `ignoreTerm`, ignores SIGTERM; otherwise SIGTERM prints `stopping` and exits with status 7.
 * SIGINT exits with status 5.
 */
function command(
  keys: string[],
  options: { ignoreTerm?: boolean; withPid?: boolean } = {},
): string[] {
  // The handlers come first: a signal that arrives before them ends the process at once.
  const script = [
    options.ignoreTerm === true
      ? `process.on("SIGTERM", () => console.log("ignoring SIGTERM"));`
      : `process.on("SIGTERM", () => { console.log("stopping"); process.exit(7); });`,
    `process.on("SIGINT", () => process.exit(5));`,
    "setInterval(() => {}, 1000);",
    `const values = ${JSON.stringify(keys)}.map((k) => process.env[k] ?? "-");`,
    `console.log(["started", ...values${options.withPid === true ? ", process.pid" : ""}].join(" "));`,
  ].join("\n");
  return [process.execPath, "-e", script];
}

describe("integration: keyvault-secrets run --watch and the preload's watching", function () {
  this.timeout(30_000);
  let vault: LocalVault;
  let client: SecretClient;
  let proxy: VaultProxy;
  const running: Started[] = [];

  /** Stores secrets named `{prefix}{name}` and returns the prefix. */
  async function seed(secrets: Record<string, string>): Promise<string> {
    const prefix = `${uniqueName("watch")}-`;
    for (const [name, value] of Object.entries(secrets)) {
      await client.setSecret(prefix + name, value);
    }
    return prefix;
  }

  /** Starts `run --watch` over the secrets of a prefix (stripped), with extra flags. */
  function watchRun(
    prefix: string,
    flags: string[],
    argv: string[],
    env: NodeJS.ProcessEnv = vaultEnv(vault, testTiming),
  ): Started {
    const started = start(
      process.execPath,
      [cliPath, "run", "--prefix", prefix, "--strip-prefix", ...flags, "--", ...argv],
      env,
    );
    running.push(started);
    return started;
  }

  const fast = ["--watch=50ms", "--jitter=0", "--min-restart-interval=0", "--grace=5s"];

  before(async () => {
    assertBuilt();
    vault = await startLocalVault({ delayMs: 0 });
    client = localClient(vault);
    proxy = await startVaultProxy(vault);
  });
  afterEach(async () => {
    proxy.clear();
    // No test leaves a process behind, even when it failed half-way.
    for (const started of running.splice(0)) {
      started.child.kill("SIGINT");
      await started.finished;
    }
  });
  after(async () => {
    await proxy.close();
    client.close();
    await vault.close();
  });

  describe("run --watch", () => {
    it("restarts the command with a new version: stop signal, then the new command; logs the names, never a value", async () => {
      const prefix = await seed({ "db-password": "password-1", "api-key": "key-value-1" });
      const run = watchRun(prefix, fast, command(["DB_PASSWORD", "API_KEY"]));
      await run.waitForOutput("started password-1 key-value-1");
      await client.setSecret(`${prefix}db-password`, "password-2");
      await run.waitForOutput("started password-2 key-value-1");
      // The signal goes to the command running now, and run ends as it does.
      run.child.kill("SIGTERM");
      const { code, stdout, stderr } = await run.finished;
      assert.equal(code, 7, stderr);
      assert.deepEqual(lines(stdout), [
        "started password-1 key-value-1",
        "stopping",
        "started password-2 key-value-1",
        "stopping",
      ]);
      assert.deepEqual(lines(stderr), [
        `keyvault-secrets: loaded 2 secrets from ${vault.vaultUrl}`,
        `keyvault-secrets: DB_PASSWORD updated (${prefix}db-password: new version); restarting the command in 0 s.`,
        "keyvault-secrets: restarting the command (SIGTERM, SIGKILL after 5 s): DB_PASSWORD updated.",
      ]);
    });

    it("sends nothing but list pages while nothing changes", async () => {
      const prefix = await seed({ one: "value-one", two: "value-two" });
      const run = watchRun(prefix, fast, command(["ONE", "TWO"]), proxy.env({ ...testTiming }));
      await run.waitForOutput("started value-one value-two");
      // A version read within seconds of its update is read again until it has settled (two
      // versions can share a second of updatedOn: see SecretCache); wait for that first.
      for (;;) {
        await proxy.arrivals(1, isList);
        const last = proxy.requests.slice(-3);
        if (last.length === 3 && last.every((request) => request === "GET /secrets")) break;
      }
      const from = proxy.requests.length;
      await proxy.arrivals(5, isList);
      assert.deepEqual([...new Set(proxy.requests.slice(from))], ["GET /secrets"]);
      assert.deepEqual(lines(run.stdout()), ["started value-one value-two"]);
    });

    it("swaps nothing when one changed value cannot be read, then both at once", async () => {
      const prefix = await seed({ a: "a-value-1", b: "b-value-1" });
      const run = watchRun(prefix, fast, command(["A", "B"]), proxy.env({ ...testTiming }));
      await run.waitForOutput("started a-value-1 b-value-1");
      const isRead = (name: string) => (method: string, path: string) =>
        method === "GET" && path.startsWith(`/secrets/${prefix}${name}`);
      proxy.fail({ status: 500, code: "InternalServerError" }, isRead("b"));
      await client.setSecret(`${prefix}b`, "b-value-2");
      await client.setSecret(`${prefix}a`, "a-value-2");
      // A poll read the new a, and b failed: nothing changes for the command.
      await proxy.arrivals(1, isRead("a"));
      await proxy.arrivals(1, isList);
      await run.waitForError("reading the vault failed");
      assert.deepEqual(lines(run.stdout()), ["started a-value-1 b-value-1"]);
      assert.match(run.stderr(), new RegExp(`: ${prefix}b: 500 InternalServerError`));
      proxy.clear();
      await run.waitForOutput("started a-value-2 b-value-2");
      assert.deepEqual(lines(run.stdout()), [
        "started a-value-1 b-value-1",
        "stopping",
        "started a-value-2 b-value-2",
      ]);
      assert.ok(run.stderr().includes("reading the vault succeeded again"), run.stderr());
    });

    it("restarts nothing while polls fail with 429, 500 or 403: one warning per episode, one line on recovery", async () => {
      const prefix = await seed({ token: "token-value-1" });
      const run = watchRun(prefix, fast, command(["TOKEN"]), proxy.env({ ...testTiming }));
      await run.waitForOutput("started token-value-1");
      const episodes = [
        [429, "Throttled", "still throttled \\(429\\) after 5 attempts"],
        [500, "InternalServerError", "500 InternalServerError: "],
        [403, "Forbidden", "403 Forbidden: "],
      ] as const;
      for (const [index, [status, code]] of episodes.entries()) {
        proxy.fail({ status, code }, isList);
        await run.waitForError("reading the vault failed", index + 1);
        // More failed polls in the same episode write nothing more.
        await proxy.arrivals(3, isList);
        proxy.clear();
        await run.waitForError("reading the vault succeeded again", index + 1);
      }
      const [summary, ...written] = lines(run.stderr());
      assert.match(summary!, /^keyvault-secrets: loaded 1 secret from http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(written.length, 6, run.stderr());
      for (const [index, [, , reason]] of episodes.entries()) {
        assert.match(
          written[2 * index]!,
          new RegExp(
            `^keyvault-secrets: reading the vault failed; the command keeps the last good values until a read succeeds \\(one line per episode\\): \\(listing\\): ${reason}`,
          ),
        );
        assert.equal(
          written[2 * index + 1],
          "keyvault-secrets: reading the vault succeeded again; the values are current.",
        );
      }
      assert.deepEqual(lines(run.stdout()), ["started token-value-1"]);
    });

    it("restarts nothing when a poll matches no secret at all: one warning per episode", async () => {
      const prefix = await seed({ only: "only-value-1" });
      const run = watchRun(prefix, fast, command(["ONLY"]), proxy.env({ ...testTiming }));
      await run.waitForOutput("started only-value-1");
      await (await client.beginDeleteSecret(`${prefix}only`, { intervalInMs: 10 })).pollUntilDone();
      await run.waitForError("reading the vault failed");
      // More polls that match nothing write nothing more and restart nothing.
      await proxy.arrivals(3, isList);
      assert.deepEqual(lines(run.stdout()), ["started only-value-1"]);
      assert.equal(run.stderr().split("reading the vault failed").length, 2, run.stderr());
      assert.ok(
        run
          .stderr()
          .includes(
            `matched --prefix "${prefix}"; a read that matches nothing changes nothing (check the filter`,
          ),
        run.stderr(),
      );
      assert.ok(!run.stderr().includes("only-value"), run.stderr());
    });

    it("with --allow-empty, restarts the command without the variables when a poll matches nothing", async () => {
      const prefix = await seed({ only: "only-value-1" });
      const run = watchRun(prefix, [...fast, "--allow-empty"], command(["ONLY"]));
      await run.waitForOutput("started only-value-1");
      await (await client.beginDeleteSecret(`${prefix}only`, { intervalInMs: 10 })).pollUntilDone();
      await run.waitForOutput("started -");
      assert.deepEqual(lines(run.stdout()), ["started only-value-1", "stopping", "started -"]);
      assert.match(run.stderr(), /ONLY removed \([^)]*: deleted\)/);
    });

    it("restarts two watchers at different moments (jitter per instance)", async () => {
      const prefix = await seed({ key: "key-value-1" });
      const flags = ["--watch=50ms", "--jitter=500ms", "--min-restart-interval=0"];
      const runs = ["1", "2"].map((seed) =>
        watchRun(
          prefix,
          flags,
          command(["KEY"]),
          vaultEnv(vault, { KEYVAULT_SECRETS_TEST_TIMING: seed }),
        ),
      );
      await Promise.all(runs.map((run) => run.waitForOutput("started key-value-1")));
      await client.setSecret(`${prefix}key`, "key-value-2");
      await Promise.all(runs.map((run) => run.waitForOutput("started key-value-2")));
      const delays = runs.map((run) => {
        const written = lines(run.stderr()).slice(1);
        const found = /restarting the command in ([\d.]+) s\.$/.exec(written[0] ?? "");
        assert.ok(found !== null, run.stderr());
        assert.match(written[1]!, /^keyvault-secrets: restarting the command \(SIGTERM/);
        return Number(found[1]);
      });
      assert.notEqual(delays[0], delays[1]);
      for (const delay of delays) assert.ok(delay >= 0 && delay <= 0.5, String(delay));
    });

    it("restarts a flapping secret at most once per --min-restart-interval; the changes in between wait", async () => {
      const prefix = await seed({ flag: "flag-1" });
      const flags = ["--watch=50ms", "--jitter=0", "--min-restart-interval=3s"];
      const run = watchRun(prefix, flags, command(["FLAG"]));
      await run.waitForOutput("started flag-1");
      await client.setSecret(`${prefix}flag`, "flag-2");
      await run.waitForError("(--min-restart-interval since its last start)");
      await client.setSecret(`${prefix}flag`, "flag-3");
      await run.waitForError("the restart already due will apply it");
      await client.setSecret(`${prefix}flag`, "flag-4");
      await run.waitForError("the restart already due will apply it", 2);
      await run.waitForOutput("started flag-4");
      assert.deepEqual(lines(run.stdout()), ["started flag-1", "stopping", "started flag-4"]);
    });

    it("restarts without a secret disabled or deleted in the vault, saying which and why", async () => {
      const prefix = await seed({ kept: "kept-value", off: "off-value", gone: "gone-value" });
      const run = watchRun(prefix, fast, command(["KEPT", "OFF", "GONE"]));
      await run.waitForOutput("started kept-value off-value gone-value");
      const { properties } = await client.getSecret(`${prefix}off`);
      await client.updateSecretProperties(`${prefix}off`, properties.version!, { enabled: false });
      await (await client.beginDeleteSecret(`${prefix}gone`, { intervalInMs: 10 })).pollUntilDone();
      await run.waitForOutput("started kept-value - -");
      // One poll may find both changes (one line) or each its own.
      assert.match(run.stderr(), new RegExp(`OFF removed[^(\\n]*\\([^)]*${prefix}off: disabled`));
      assert.match(run.stderr(), new RegExp(`GONE removed[^(\\n]*\\([^)]*${prefix}gone: deleted`));
      assert.ok(!/off-value|gone-value/.test(run.stderr()), run.stderr());
    });

    it("keeps refusing, on every read, a variable that runs code and a value with a NUL character", async () => {
      const prefix = await seed({ plain: "plain-1" });
      const run = watchRun(prefix, fast, command(["PLAIN", "NODE_OPTIONS"]));
      await run.waitForOutput("started plain-1 -");
      await client.setSecret(`${prefix}node-options`, "--require ./payload.cjs");
      await run.waitForError(
        `NODE_OPTIONS <- ${prefix}node-options: Node.js loads the code it names`,
      );
      await client.setSecret(`${prefix}plain`, "before\u0000after-hidden");
      await run.waitForError(`${prefix}plain: the value holds a NUL character`);
      await client.setSecret(`${prefix}plain`, "plain-2");
      await run.waitForOutput("started plain-2 -");
      assert.deepEqual(lines(run.stdout()), ["started plain-1 -", "stopping", "started plain-2 -"]);
      assert.ok(!/payload|hidden/.test(run.stderr()), run.stderr());
    });

    it("follows the latest version of an unversioned reference; a versioned one never changes", async () => {
      const prefix = await seed({});
      const first = await client.setSecret(`${prefix}db-password`, "reference-1");
      const reference = `${vault.vaultUrl}/secrets/${prefix}db-password`;
      const env = vaultEnv(vault, {
        ...testTiming,
        KEYVAULT_URI: undefined,
        LATEST: `@Microsoft.KeyVault(SecretUri=${reference}/)`,
        PINNED: `@Microsoft.KeyVault(SecretUri=${reference}/${first.properties.version})`,
      });
      const run = start(
        process.execPath,
        [cliPath, "run", ...fast, "--", ...command(["LATEST", "PINNED"])],
        env,
      );
      running.push(run);
      await run.waitForOutput("started reference-1 reference-1");
      await client.setSecret(`${prefix}db-password`, "reference-2");
      await run.waitForOutput("started reference-2 reference-1");
      assert.match(run.stderr(), /LATEST updated/);
      // Gone from the vault: the variable is left as written, as App Service leaves it.
      await (
        await client.beginDeleteSecret(`${prefix}db-password`, { intervalInMs: 10 })
      ).pollUntilDone();
      await run.waitForOutput(`started ${env["LATEST"]} reference-1`);
      assert.match(run.stderr(), new RegExp(`LATEST removed \\(${prefix}db-password: deleted\\)`));
      assert.ok(!run.stderr().includes("PINNED"), run.stderr());
    });

    it("stops the command with SIGKILL when it outlasts --grace, then starts the new one", async () => {
      const prefix = await seed({ key: "key-1" });
      const flags = ["--watch=50ms", "--jitter=0", "--min-restart-interval=0", "--grace=100ms"];
      const run = watchRun(prefix, flags, command(["KEY"], { ignoreTerm: true }));
      await run.waitForOutput("started key-1");
      await client.setSecret(`${prefix}key`, "key-2");
      await run.waitForOutput("started key-2");
      assert.deepEqual(lines(run.stdout()), ["started key-1", "ignoring SIGTERM", "started key-2"]);
      assert.match(run.stderr(), /restarting the command \(SIGTERM, SIGKILL after 0\.1 s\)/);
    });

    it("ends on SIGINT during a restart: no new command starts, the old one is gone, run exits as it did", async () => {
      const prefix = await seed({ key: "key-1" });
      const flags = ["--watch=50ms", "--jitter=0", "--min-restart-interval=0", "--grace=60s"];
      const run = watchRun(prefix, flags, command(["KEY"], { ignoreTerm: true, withPid: true }));
      await run.waitForOutput("started key-1");
      const pid = Number(lines(run.stdout())[0]!.split(" ")[2]);
      await client.setSecret(`${prefix}key`, "key-2");
      // The restart has begun: the old command got the stop signal and ignores it.
      await run.waitForOutput("ignoring SIGTERM");
      run.child.kill("SIGINT");
      const { code, stdout } = await run.finished;
      assert.equal(code, 5);
      assert.deepEqual(lines(stdout), [`started key-1 ${pid}`, "ignoring SIGTERM"]);
      assert.throws(() => process.kill(pid, 0), { code: "ESRCH" }, "the command outlived run");
    });

    it("exits with the command when it exits on its own", async () => {
      const prefix = await seed({ key: "key-1" });
      const run = watchRun(prefix, fast, [process.execPath, "-e", "process.exit(3)"]);
      assert.equal((await run.finished).code, 3);
    });

    it("--mask conceals the values of every command it starts", async () => {
      const prefix = await seed({ password: "first-long-password" });
      const run = watchRun(prefix, ["--mask", ...fast], command(["PASSWORD"]));
      await run.waitForOutput("started <concealed by keyvault-secrets>");
      await client.setSecret(`${prefix}password`, "second-long-password");
      await run.waitForOutput("stopping");
      await run.waitForOutput(
        "started <concealed by keyvault-secrets>\nstopping\nstarted <concealed",
      );
      assert.ok(!/long-password/.test(run.stdout() + run.stderr()), run.stdout());
    });
  });

  describe("the preload with KEYVAULT_SECRETS_WATCH", () => {
    let app: ReturnType<typeof appDirectory>;
    // The app prints its variable at start and at each change, with the change's names; it ends
    // once the variable is gone.
    const appSource = (load: string): string =>
      [
        load,
        `console.log("start " + (process.env.DB_PASSWORD ?? "-") + " watching=" + secretsWatcher.watching);`,
        `secretsWatcher.on("change", (change) => {`,
        `  console.log("change " + JSON.stringify(change) + " " + (process.env.DB_PASSWORD ?? "-"));`,
        `  if (process.env.DB_PASSWORD === undefined) clearInterval(timer);`,
        `});`,
        `const timer = setInterval(() => {}, 1000);`,
      ].join("\n");

    before(() => {
      app = appDirectory();
      writeFileSync(
        join(app.dir, "app.mjs"),
        appSource(`import { secretsWatcher } from "keyvault-secrets/env";`),
      );
      writeFileSync(
        join(app.dir, "app.cjs"),
        appSource(`const { secretsWatcher } = require("keyvault-secrets/env");`),
      );
      // An app that ends once SIGUSR2 tells it its work is done.
      writeFileSync(
        join(app.dir, "short.mjs"),
        [
          `console.log("start " + process.env.DB_PASSWORD);`,
          `const timer = setInterval(() => {}, 1000);`,
          `process.once("SIGUSR2", () => { console.log("done"); clearInterval(timer); });`,
        ].join("\n"),
      );
    });
    after(() => app.remove());

    for (const [flag, appFile] of [
      ["--import", "app.mjs"],
      ["-r", "app.cjs"],
    ] as const) {
      it(`${flag}: updates process.env in place and emits change; a failed poll changes nothing`, async () => {
        // Another secret stays: a read that matches nothing would be a failed read (--allow-empty).
        const prefix = await seed({ "db-password": "preload-1", other: "stays" });
        const run = start(
          process.execPath,
          [flag, "keyvault-secrets/env", appFile],
          proxy.env({
            ...testTiming,
            KEYVAULT_SECRETS_WATCH: "50ms",
            KEYVAULT_SECRETS_PREFIX: prefix,
            KEYVAULT_SECRETS_STRIP_PREFIX: "true",
          }),
          app.dir,
        );
        running.push(run);
        await run.waitForOutput("start preload-1 watching=true");
        await client.setSecret(`${prefix}db-password`, "preload-2");
        await run.waitForOutput(" preload-2\n");
        proxy.fail({ status: 503, code: "ServiceUnavailable" }, isList);
        await run.waitForError("reading the vault failed; process.env keeps the last good values");
        proxy.clear();
        await run.waitForError("reading the vault succeeded again");
        await (
          await client.beginDeleteSecret(`${prefix}db-password`, { intervalInMs: 10 })
        ).pollUntilDone();
        const { code, stdout, stderr } = await run.finished;
        assert.equal(code, 0, stderr);
        const change = (kind: string) =>
          JSON.stringify({
            names: ["DB_PASSWORD"],
            added: [],
            updated: kind === "updated" ? ["DB_PASSWORD"] : [],
            removed: kind === "removed" ? ["DB_PASSWORD"] : [],
          });
        assert.deepEqual(lines(stdout), [
          "start preload-1 watching=true",
          `change ${change("updated")} preload-2`,
          `change ${change("removed")} -`,
        ]);
        assert.equal(stderr.split("reading the vault failed").length, 2, stderr);
        assert.match(stderr, /process\.env updated: DB_PASSWORD removed \([^)]*: deleted\)/);
        assert.ok(!stderr.includes("preload-"), stderr);
      });
    }

    it("loads once and keeps one secretsWatcher when an ES module preload meets a require of it", async () => {
      const prefix = await seed({ "db-password": "shared-1" });
      const from = proxy.requests.length;
      const run = start(
        process.execPath,
        ["--import", "keyvault-secrets/env", "app.cjs"],
        proxy.env({
          ...testTiming,
          // The watcher's first read comes one interval after the start, well after the app's line.
          KEYVAULT_SECRETS_WATCH: "1s",
          KEYVAULT_SECRETS_PREFIX: prefix,
          KEYVAULT_SECRETS_STRIP_PREFIX: "true",
        }),
        app.dir,
      );
      running.push(run);
      await run.waitForOutput("start shared-1 watching=true");
      const loads = proxy.requests
        .slice(from)
        .filter((request) => request.startsWith(`GET /secrets/${prefix}db-password`));
      assert.equal(loads.length, 1, "the CommonJS form loaded again");
      await client.setSecret(`${prefix}db-password`, "shared-2");
      await run.waitForOutput(" shared-2\n");
    });

    it("never keeps the app alive: it ends while a read of the vault hangs", async () => {
      const prefix = await seed({ "db-password": "short-lived" });
      const run = start(
        process.execPath,
        ["--import", "keyvault-secrets/env", "short.mjs"],
        proxy.env({
          ...testTiming,
          KEYVAULT_SECRETS_WATCH: "10ms",
          KEYVAULT_SECRETS_PREFIX: prefix,
          KEYVAULT_SECRETS_STRIP_PREFIX: "true",
        }),
        app.dir,
      );
      running.push(run);
      await run.waitForOutput("start short-lived");
      // The watcher's next listing never gets an answer; then the app finishes its own work.
      proxy.fail("hang", isList);
      await proxy.arrivals(1, isList);
      run.child.kill("SIGUSR2");
      const { code, stdout } = await run.finished;
      assert.equal(code, 0);
      assert.deepEqual(lines(stdout), ["start short-lived", "done"]);
    });
  });
});
