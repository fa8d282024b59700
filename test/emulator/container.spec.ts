/**
 * The container image, as far as a machine without a Docker daemon can check it: the build
 * context that .dockerignore leaves, the image's entry command and health check run directly with
 * the image's environment, and the settings of docker-compose.yml.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { environmentName } from "../../src/emulator/cli/environment.js";
import { helpText } from "../../src/emulator/cli/cliArguments.js";
import { runProcess, startProcess, waitForVault } from "../integration/emulatorProcess.js";

/** One instruction of a Dockerfile, continuation lines joined. */
interface Instruction {
  keyword: string;
  args: string;
}

function readDockerfile(): Instruction[] {
  const text = readFileSync("Dockerfile", "utf8").replace(/\\\r?\n/g, " ");
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const space = line.indexOf(" ");
      return { keyword: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() };
    });
}

/** The instructions of the last stage (the image that runs). */
function finalStage(instructions: Instruction[]): Instruction[] {
  const from = instructions.map((i) => i.keyword).lastIndexOf("FROM");
  return instructions.slice(from);
}

function envOf(stage: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.filter((i) => i.keyword === "ENV")) {
    for (const [, key, value] of args.matchAll(/(\w+)=(\S+)/g)) env[key] = value;
  }
  return env;
}

/** An exec-form command of the image, run from this checkout instead of /app. */
function localCommand(exec: string[]): string[] {
  return exec.map((arg, i) =>
    i === 0 && arg === "node"
      ? process.execPath
      : arg.startsWith("/app/")
        ? path.resolve(arg.slice(5))
        : arg,
  );
}

/** Files of a directory tree, relative, with `/` separators. */
function walk(root: string, keep: (relative: string, isDirectory: boolean) => boolean): string[] {
  const files: string[] = [];
  const visit = (relative: string): void => {
    for (const entry of readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (!keep(child, entry.isDirectory())) continue;
      if (entry.isDirectory()) visit(child);
      else files.push(child);
    }
  };
  visit("");
  return files;
}

/**
 * What Docker sends as the build context: the rules of .dockerignore (last matching pattern wins,
 * `!` re-includes, a pattern matching a parent directory matches what is inside it; `*` within a
 * segment, `**` across segments).
 */
function buildContext(root: string): string[] {
  const patterns = readFileSync(path.join(root, ".dockerignore"), "utf8")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negate = line.startsWith("!");
      const body = (negate ? line.slice(1) : line).replace(/^\/+|\/+$/g, "");
      const source = body
        .split("/")
        .map((segment) =>
          segment === "**"
            ? ".*"
            : segment
                .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                .replace(/\*/g, "[^/]*")
                .replace(/\?/g, "[^/]"),
        )
        .join("/");
      return { negate, body, regex: new RegExp(`^${source}$`) };
    });
  const excluded = (relative: string): boolean => {
    const parts = relative.split("/");
    let result = false;
    for (const pattern of patterns) {
      for (let n = 1; n <= parts.length; n++) {
        if (pattern.regex.test(parts.slice(0, n).join("/"))) {
          result = !pattern.negate;
          break;
        }
      }
    }
    return result;
  };
  return walk(root, (relative, isDirectory) => {
    if (!excluded(relative)) return true;
    // An excluded directory is entered only if a `!` pattern may re-include something inside it.
    return isDirectory && patterns.some((p) => p.negate && p.body.startsWith(`${relative}/`));
  }).filter((relative) => !excluded(relative));
}

describe("integration: the container image (no Docker daemon: checked without building)", () => {
  const instructions = readDockerfile();
  const stage = finalStage(instructions);
  const imageEnv = envOf(stage);
  const entrypoint = JSON.parse(
    stage.find((i) => i.keyword === "ENTRYPOINT")?.args ?? "[]",
  ) as string[];
  const healthcheck = JSON.parse(
    /CMD\s+(\[.*\])$/.exec(stage.find((i) => i.keyword === "HEALTHCHECK")?.args ?? "")?.[1] ?? "[]",
  ) as string[];

  describe("Dockerfile", () => {
    it("runs the package's bin as a non-root user on a small Node base image", () => {
      const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
        bin: Record<string, string>;
      };
      assert.deepEqual(entrypoint, [
        "node",
        `/app/${path.normalize(pkg.bin["keyvault-emulator"])}`,
      ]);
      assert.deepEqual(healthcheck, [...entrypoint, "healthcheck"]);
      assert.match(stage[0].args, /^node:\d+-(alpine|slim)/);
      assert.equal(stage.find((i) => i.keyword === "USER")?.args, "node");
      assert.equal(stage.find((i) => i.keyword === "VOLUME")?.args, '["/data"]');
      assert.deepEqual(
        {
          host: imageEnv.KEYVAULT_EMULATOR_HOST,
          port: imageEnv.KEYVAULT_EMULATOR_PORT,
          location: imageEnv.KEYVAULT_EMULATOR_LOCATION,
        },
        { host: "0.0.0.0", port: "8443", location: "/data" },
      );
      assert.equal(stage.find((i) => i.keyword === "EXPOSE")?.args, "8443");
    });

    it("sets only variables the command reads", () => {
      for (const name of Object.keys(imageEnv).filter((n) => n.startsWith("KEYVAULT_EMULATOR_"))) {
        const flag = `--${name.slice("KEYVAULT_EMULATOR_".length).toLowerCase().replace(/_/g, "-")}`;
        assert.ok(helpText.includes(flag), `${name}: ${flag} is not an option`);
        assert.equal(environmentName(flag.slice(2)), name);
      }
    });

    it("copies only what the build context holds", () => {
      const context = new Set(buildContext(process.cwd()));
      for (const { args } of instructions.filter((i) => i.keyword === "COPY")) {
        if (args.startsWith("--from=")) continue;
        const sources = args.split(/\s+/).slice(0, -1);
        for (const source of sources) {
          assert.ok(
            [...context].some((f) => f === source || f.startsWith(`${source.replace(/\/$/, "")}/`)),
            `COPY ${source}: not in the build context`,
          );
        }
      }
    });
  });

  describe(".dockerignore", () => {
    it("keeps node_modules, .git, dist, tests, state and .env files out of the build context", async () => {
      const root = await fs.mkdtemp(path.join(os.tmpdir(), "kv-context-"));
      try {
        // A checkout as a developer has it, with what must never reach the daemon.
        const files = [
          "package.json",
          "package-lock.json",
          "tsconfig.json",
          "tsconfig.build.json",
          "tsconfig.cjs.json",
          "scripts/build.mjs",
          "scripts/bundle.mjs",
          "scripts/other.mjs",
          "src/index.ts",
          "src/emulator/cli.ts",
          "node_modules/left-pad/index.js",
          ".git/config",
          "dist/esm/index.js",
          "test/unit/a.spec.ts",
          ".vault/journal.log",
          ".env",
          "src/.env",
          "src/emulator/server.key",
          "keyvault-emulator-ca.pem",
          "coverage/lcov.info",
          "README.md",
        ];
        await fs.copyFile(".dockerignore", path.join(root, ".dockerignore"));
        for (const file of files) {
          await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
          await fs.writeFile(path.join(root, file), "x");
        }
        assert.deepEqual(buildContext(root).sort(), [
          "package-lock.json",
          "package.json",
          "scripts/build.mjs",
          "scripts/bundle.mjs",
          "src/emulator/cli.ts",
          "src/index.ts",
          "tsconfig.build.json",
          "tsconfig.cjs.json",
          "tsconfig.json",
        ]);
      } finally {
        await fs.rm(root, { recursive: true, force: true });
      }
    });

    it("leaves none of this checkout's node_modules or .git in its context", () => {
      const context = buildContext(process.cwd());
      assert.ok(context.includes("src/emulator/index.ts"));
      const outside = context.filter(
        (f) =>
          !/^(src\/|scripts\/(build|bundle)\.mjs$|package(-lock)?\.json$|tsconfig(\.\w+)?\.json$)/.test(
            f,
          ),
      );
      assert.deepEqual(outside, []);
    });
  });

  describe("entry command and health check, run directly with the image's environment", () => {
    let directory: string;

    before(async () => {
      directory = await fs.mkdtemp(path.join(os.tmpdir(), "kv-image-"));
    });
    after(() => fs.rm(directory, { recursive: true, force: true }));

    it("starts the vault as the image would, healthy once it answers, unhealthy once stopped", async () => {
      const location = path.join(directory, "data");
      const seed = path.join(directory, "seed.json");
      await fs.writeFile(seed, JSON.stringify({ secrets: [{ name: "in-image", value: "v" }] }));
      // The image's variables, with what a test must change: loopback only, a free port, a
      // temporary /data.
      const env = {
        ...imageEnv,
        KEYVAULT_EMULATOR_HOST: "127.0.0.1",
        KEYVAULT_EMULATOR_PORT: "0",
        KEYVAULT_EMULATOR_LOCATION: location,
        KEYVAULT_EMULATOR_SEED: seed,
      };
      const started = startProcess(localCommand(entrypoint), env);
      let port: string | undefined;
      try {
        const { vaultUrl, pageUrl } = await waitForVault(started);
        assert.match(vaultUrl, /^https:\/\/127\.0\.0\.1:\d+$/, "HTTPS from the image's variables");
        assert.ok(pageUrl !== undefined, "the page link is printed");
        port = new URL(vaultUrl).port;
        const ca = await fs.readFile(path.join(location, "keyvault-emulator-ca.pem"), "utf8");
        assert.match(ca, /BEGIN CERTIFICATE/, "the CA is kept in the volume for other containers");

        const healthy = await runProcess(localCommand(healthcheck), {
          ...env,
          KEYVAULT_EMULATOR_PORT: port ?? "0",
        });
        assert.equal(healthy.code, 0, healthy.stderr);
        assert.match(healthy.stdout, /healthy/);
      } finally {
        const { code, signal } = await started.stop();
        assert.equal(signal, null);
        assert.equal(code, 0);
      }
      const unhealthy = await runProcess(localCommand(healthcheck), {
        ...env,
        KEYVAULT_EMULATOR_PORT: port ?? "0",
      });
      assert.equal(unhealthy.code, 1);
      assert.match(unhealthy.stderr, /unhealthy: connect ECONNREFUSED/);
    });
  });
});
