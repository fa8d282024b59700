// Packs the built package (`npm run check:consumers` builds first), checks what the tarball holds,
// installs it into a throwaway project outside the repository, and runs one round trip against the
// local vault from CommonJS, ESM, and TypeScript compiled with moduleResolution node16, bundler and
// node (node10, which reads typesVersions instead of the exports map).
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);
const repo = resolve(".");
const work = mkdtempSync(join(tmpdir(), "keyvault-secrets-consumer-"));
// No vault of the caller's environment: the programs import the preload, which then loads nothing.
const run = (command, args, cwd) =>
  execFileSync(command, args, {
    cwd,
    env: { ...process.env, KEYVAULT_URI: "" },
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });

try {
  // The build that is there (npm run check:consumers and CI build first): prepack would build again.
  const packed = JSON.parse(
    run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], repo),
  )[0];
  const files = packed.files.map((f) => f.path);
  const required = [
    "package.json",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "dist/esm/index.js",
    "dist/esm/index.d.ts",
    "dist/commonjs/index.js",
    "dist/commonjs/index.d.ts",
    "dist/esm/emulator/index.js",
    "dist/commonjs/emulator/index.js",
    "dist/esm/emulator/bin.js",
    "dist/esm/inject/bin.js",
    "dist/esm/inject/preload.js",
    "dist/commonjs/inject/preloadCommonJs.js",
    "dist/commonjs/inject/preloadChild.js",
    "dist/esm/inject/preloadWatchWorker.js",
    "dist/commonjs/inject/preloadWatchWorker.js",
  ];
  const missing = required.filter((file) => !files.includes(file));
  const unwanted = files.filter(
    (file) =>
      !/^(dist\/|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/.test(file) ||
      file.endsWith(".map"),
  );
  if (missing.length || unwanted.length) {
    throw new Error(
      `tarball content: missing ${JSON.stringify(missing)}, unwanted ${JSON.stringify(unwanted)}`,
    );
  }
  console.log(`Node.js ${process.version}: consumer checks`);
  console.log(`tarball: ${packed.filename}, ${files.length} files, ${packed.size} bytes packed`);

  const typeScriptVersion = run(
    "node",
    ["-p", "require('./node_modules/typescript/package.json').version"],
    repo,
  ).trim();
  const project = join(work, "consumer");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      join(work, packed.filename),
      `typescript@${typeScriptVersion}`,
      // The oldest Node.js the package supports (engines.node), so consumers see its API.
      "@types/node@22",
    ],
    project,
  );

  const body = (imports) => `${imports}
const vault = await startLocalVault();
try {
  const client = new SecretClient(vault.vaultUrl, vault.credential, {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
  });
  await client.setSecret("consumer", "round-trip");
  const secret = await client.getSecret("consumer");
  if (secret.value !== "round-trip") throw new Error("round trip returned " + secret.value);
  client.close();
} finally {
  await vault.close();
}
console.log("ok");`;

  writeFileSync(
    join(project, "cjs.cjs"),
    `const { SecretClient } = require("keyvault-secrets");
const { startLocalVault } = require("keyvault-secrets/emulator");
(async () => {
${body("")}
})().catch((e) => { console.error(e); process.exit(1); });`,
  );
  writeFileSync(
    join(project, "esm.mjs"),
    body(
      `import { SecretClient } from "keyvault-secrets";\nimport { startLocalVault } from "keyvault-secrets/emulator";`,
    ),
  );
  // The preload's types (keyvault-secrets/env): without KEYVAULT_URI it loads nothing, and
  // without KEYVAULT_SECRETS_WATCH it does not watch.
  const envTypes = `import { secretsWatcher, type SecretsWatcherChange } from "keyvault-secrets/env";
secretsWatcher.on("change", (change: SecretsWatcherChange) => console.log(change.names.join(", ")));
if (secretsWatcher.watching) throw new Error("secretsWatcher watches without KEYVAULT_SECRETS_WATCH");`;
  const tsSource = body(
    `import { SecretClient, type KeyVaultSecret } from "keyvault-secrets";\nimport { startLocalVault } from "keyvault-secrets/emulator";\n${envTypes}\nconst _typed: KeyVaultSecret | undefined = undefined;\nvoid _typed;`,
  );
  // One TypeScript project per module system and resolution a consumer may use.
  const typeScriptProject = (dir, type, module, moduleResolution, source) => {
    // TypeScript 6 deprecates moduleResolution "node"; consumers on it still use it.
    const deprecated =
      moduleResolution === "node" && Number(typeScriptVersion.split(".")[0]) >= 6
        ? { ignoreDeprecations: "6.0" }
        : {};
    mkdirSync(join(project, dir));
    writeFileSync(join(project, dir, "package.json"), JSON.stringify({ type }));
    writeFileSync(join(project, dir, "main.ts"), source);
    writeFileSync(
      join(project, dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module,
          moduleResolution,
          target: "ES2022",
          strict: true,
          outDir: "out",
          types: ["node"],
          ...deprecated,
        },
        files: ["main.ts"],
      }),
    );
  };
  typeScriptProject("node16", "module", "node16", "node16", tsSource);
  typeScriptProject("bundler", "module", "esnext", "bundler", tsSource);
  const commonJsSource = `import { SecretClient } from "keyvault-secrets";\nimport { startLocalVault } from "keyvault-secrets/emulator";\n${envTypes}\nasync function main(): Promise<void> {\n${body("")}\n}\nmain().catch((e) => { console.error(e); process.exit(1); });`;
  typeScriptProject("node16cjs", "commonjs", "node16", "node16", commonJsSource);
  // Without exports-map support, "keyvault-secrets/emulator" resolves through typesVersions.
  typeScriptProject("node10", "commonjs", "commonjs", "node", commonJsSource);

  const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
  const typeScriptDirs = ["node16", "bundler", "node16cjs", "node10"];
  // The compilations are independent: side by side, four take about the time of two.
  await Promise.all(
    typeScriptDirs.map((dir) =>
      execFileAsync("node", [tsc, "-p", dir], { cwd: project }).catch((error) => {
        throw new Error(`TypeScript (${dir}) does not compile:\n${error.stdout}${error.stderr}`);
      }),
    ),
  );
  const checks = [
    ["CommonJS require", () => run("node", ["cjs.cjs"], project)],
    ["ESM import", () => run("node", ["esm.mjs"], project)],
    ...typeScriptDirs.map((dir) => [
      `TypeScript (${dir})`,
      () => run("node", [join(dir, "out", "main.js")], project),
    ]),
  ];
  for (const [name, check] of checks) {
    const output = check();
    if (!output.includes("ok")) throw new Error(`${name}: no round trip (${output})`);
    console.log(`${name}: round trip ok`);
  }
  const help = run(
    "node",
    [join(project, "node_modules", ".bin", "keyvault-emulator"), "--help"],
    project,
  );
  if (!help.includes("Usage: keyvault-emulator"))
    throw new Error("the keyvault-emulator bin does not run");
  // As the README runs it: --no-install never fetches a package of that name from the registry.
  const npxHelp = run("npx", ["--no-install", "keyvault-emulator", "--help"], project);
  if (!npxHelp.includes("Usage: keyvault-emulator"))
    throw new Error("npx --no-install keyvault-emulator does not run the installed bin");
  console.log("bin keyvault-emulator (node_modules/.bin and npx --no-install): ok");

  const secretsBin = join(project, "node_modules", ".bin", "keyvault-secrets");
  if (!run("node", [secretsBin, "--help"], project).includes("Usage: keyvault-secrets run"))
    throw new Error("the keyvault-secrets bin does not run");
  // @azure/identity is an optional peer dependency: npm did not install it, and the command says so.
  let missingIdentity = "";
  try {
    execFileSync(
      "node",
      [secretsBin, "run", "--vault", "https://consumer.vault.azure.net", "--", "node", "-e", "0"],
      { cwd: project, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" },
    );
  } catch (error) {
    missingIdentity = String(error.stderr);
  }
  if (!missingIdentity.includes("npm install @azure/identity"))
    throw new Error(`keyvault-secrets without @azure/identity: ${missingIdentity || "no error"}`);
  console.log("bin keyvault-secrets: ok (and tells how to install @azure/identity)");
  // Without a vault or references the preload does nothing, in both module systems.
  for (const flag of ["--import", "-r"]) {
    const env = { ...process.env, KEYVAULT_URI: "" };
    const output = execFileSync("node", [flag, "keyvault-secrets/env", "-e", "console.log('ok')"], {
      cwd: project,
      env,
      encoding: "utf8",
    });
    if (output.trim() !== "ok") throw new Error(`node ${flag} keyvault-secrets/env: ${output}`);
  }
  console.log("preload keyvault-secrets/env (--import and -r): ok");
} finally {
  rmSync(work, { recursive: true, force: true });
}
