/**
 * `npm run bench`: our client against `@azure/keyvault-secrets` and a raw keep-alive HTTP loop.
 *
 * Every contender runs in its own child process (its CPU time and peak RSS are its own), against a
 * server in another process: the fixed-response stand-in (measures clients) and the local vault.
 * Contenders take turns round by round (A B C A B C ...) so that drift of a shared machine hits all
 * alike; ratios are the figures to read. Results are printed and written to bench/results/.
 *
 * Flags: --quick (short rounds), --scenario NAME (repeatable or comma-separated: get, set, list1k,
 * list10k, cold, cache, startup), --server fixed|vault|both, --https (every contender and server over TLS with a
 * generated CA trusted through NODE_EXTRA_CA_CERTS), --profile (CPU profiles of our client and the
 * official one instead of the benchmark), --help.
 */
import type { ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, freemem, loadavg, tmpdir, totalmem } from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { compileBench, type CompiledBench } from "./compile.js";
import { exited, forkTracked, killAllChildren, nextMessage } from "./processes.js";
import { summarizeProfile, type ProfileSummary } from "./profile.js";
import {
  contenderNames,
  type ClientCommand,
  type ClientConfig,
  type ClientMessage,
  type ColdStartResult,
  type ContenderName,
  type OperationKind,
  type RoundResult,
  type ServerConfig,
  type ServerReady,
} from "./protocol.js";

const scenarioNames = ["get", "set", "list1k", "list10k", "cold", "cache", "startup"] as const;
type ScenarioName = (typeof scenarioNames)[number];
type ServerKind = "fixed" | "vault";

interface Scenario {
  operation: OperationKind;
  /** Secrets in the vault (list scenarios). */
  items: number;
  label: string;
}

const scenarios: Record<Exclude<ScenarioName, "cold" | "cache" | "startup">, Scenario> = {
  get: { operation: "get", items: 0, label: "getSecret" },
  set: { operation: "set", items: 0, label: "setSecret" },
  list1k: { operation: "list", items: 1_000, label: "list 1,000" },
  list10k: { operation: "list", items: 10_000, label: "list 10,000" },
};

const concurrencies = [1, 16];

interface Settings {
  rounds: number;
  durationMs: number;
  firstWarmupMs: number;
  roundWarmupMs: number;
  coldRuns: number;
  profileMs: number;
}

const fullSettings: Settings = {
  rounds: 3,
  durationMs: 2_000,
  firstWarmupMs: 1_000,
  roundWarmupMs: 300,
  coldRuns: 10,
  profileMs: 5_000,
};
const quickSettings: Settings = {
  rounds: 2,
  durationMs: 500,
  firstWarmupMs: 400,
  roundWarmupMs: 150,
  coldRuns: 5,
  profileMs: 2_000,
};

/** No round may do more than this many operations (a bound on every loop, whatever the speed). */
const maxOpsPerRound = 2_000_000;

const usage = `Usage: npm run bench -- [--quick] [--scenario NAME]... [--server fixed|vault|both] [--https] [--profile]

  --quick            short rounds (about a minute in all), for a smoke check
  --scenario NAME    ${scenarioNames.join(", ")} (repeatable, or comma-separated; default: all)
  --server KIND      fixed (canned answers), vault (the local vault) or both (default)
  --https            every server and contender over TLS with a generated CA (NODE_EXTRA_CA_CERTS)
  --profile          CPU-profile our client and the official one (get, or the chosen scenarios)
`;

/** Figures of one contender in one scenario. */
interface ContenderFigures {
  ops: number;
  opsPerSecond: number;
  cpuUsPerOp: number;
  peakRssMb: number;
  /** ops/s of each round, to show the spread. */
  roundOpsPerSecond: number[];
}

interface ScenarioResult {
  server: ServerKind;
  scenario: ScenarioName;
  label: string;
  concurrency: number;
  items: number;
  contenders: Record<ContenderName, ContenderFigures>;
}

interface ColdResult {
  server: ServerKind;
  runs: number;
  contenders: Record<
    ContenderName,
    { medianImportToFirstGetMs: number; medianProcessToFirstGetMs: number; samplesMs: number[] }
  >;
}

interface Target {
  name: string;
  value: string;
  limit: string;
  met: boolean | undefined;
}

// ----------------------------------------------------------------------------------------------

function parseOptions(): {
  settings: Settings;
  quick: boolean;
  chosen: ScenarioName[];
  servers: ServerKind[];
  https: boolean;
  profile: boolean;
} {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      scenario: { type: "string", multiple: true },
      server: { type: "string", default: "both" },
      https: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const chosen = (values.scenario ?? [])
    .flatMap((value) => value.split(","))
    .map((value) => value.trim())
    .filter((value) => value !== "");
  for (const name of chosen) {
    if (!(scenarioNames as readonly string[]).includes(name)) {
      throw new TypeError(`Unknown scenario "${name}"; use one of ${scenarioNames.join(", ")}.`);
    }
  }
  const server = values.server;
  if (server !== "fixed" && server !== "vault" && server !== "both") {
    throw new TypeError(`--server must be fixed, vault or both, got "${server}".`);
  }
  return {
    settings: values.quick ? quickSettings : fullSettings,
    quick: values.quick,
    chosen: chosen.length > 0 ? [...new Set(chosen as ScenarioName[])] : [...scenarioNames],
    servers: server === "both" ? ["fixed", "vault"] : [server],
    https: values.https,
    profile: values.profile,
  };
}

// ----------------------------------------------------------------------------------------------

interface RunningServer {
  url: string;
  /** Environment for client processes: trusts the server's CA when it speaks TLS. */
  clientEnv: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

async function startServer(
  compiled: CompiledBench,
  kind: ServerKind,
  config: ServerConfig,
): Promise<RunningServer> {
  const child = forkTracked(
    compiled.benchModule(kind === "fixed" ? "fixedServer" : "vaultServer"),
    [JSON.stringify(config)],
  );
  const ready = await nextMessage(
    child,
    (message) =>
      (message as ServerReady).type === "listening" ? (message as ServerReady) : undefined,
    // Seeding 10,000 secrets into the local vault on a busy machine.
    120_000,
    `the ${kind} server to listen`,
  );
  const clientEnv: NodeJS.ProcessEnv = { ...process.env };
  delete clientEnv.NODE_OPTIONS;
  let caDir: string | undefined;
  if (ready.caCertificate !== undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), "keyvault-secrets-bench-ca-"));
    caDir = dir;
    const caFile = path.join(dir, "ca.pem");
    writeFileSync(caFile, ready.caCertificate);
    clientEnv.NODE_EXTRA_CA_CERTS = caFile;
  }
  return {
    url: ready.url,
    clientEnv,
    stop: async () => {
      child.kill("SIGTERM");
      await exited(child, 3_000);
      if (caDir !== undefined) rmSync(caDir, { recursive: true, force: true });
    },
  };
}

interface ClientChild {
  contender: ContenderName;
  child: ChildProcess;
  peakRssKb: number;
}

function resultOf(message: unknown): RoundResult | undefined {
  const typed = message as ClientMessage;
  if (typed.type === "failed") throw new Error(typed.message);
  return typed.type === "result" ? typed.result : undefined;
}

async function startClient(
  compiled: CompiledBench,
  server: RunningServer,
  config: ClientConfig,
  execArgv: string[] = [],
): Promise<ClientChild> {
  const child = forkTracked(
    compiled.benchModule("clientChild"),
    [JSON.stringify(config), compiled.ourModuleUrl],
    { env: server.clientEnv, execArgv },
  );
  const ready = await nextMessage(
    child,
    (message) => {
      const typed = message as ClientMessage;
      if (typed.type === "failed") throw new Error(`${config.contender}: ${typed.message}`);
      return typed.type === "ready" ? typed : undefined;
    },
    60_000,
    `${config.contender} to start`,
  );
  return { contender: config.contender, child, peakRssKb: ready.maxRssKb };
}

async function runRound(client: ClientChild, command: ClientCommand): Promise<RoundResult> {
  client.child.send(command);
  const limit = command.type === "round" ? command.warmupMs + command.durationMs + 120_000 : 10_000;
  const result = await nextMessage(client.child, resultOf, limit, `a round of ${client.contender}`);
  client.peakRssKb = Math.max(client.peakRssKb, result.maxRssKb);
  return result;
}

async function stopClient(client: ClientChild): Promise<void> {
  try {
    client.child.send({ type: "stop" } satisfies ClientCommand);
    const stopped = await nextMessage(
      client.child,
      (message) =>
        (message as ClientMessage).type === "stopped" ? (message as ClientMessage) : undefined,
      10_000,
      `${client.contender} to stop`,
    );
    if (stopped.type === "stopped") client.peakRssKb = Math.max(client.peakRssKb, stopped.maxRssKb);
  } finally {
    await exited(client.child, 5_000);
  }
}

/** One scenario at one concurrency: a child per contender, rounds interleaved A B C A B C ... */
async function runScenario(
  compiled: CompiledBench,
  server: RunningServer,
  serverKind: ServerKind,
  name: Exclude<ScenarioName, "cold" | "cache" | "startup">,
  concurrency: number,
  settings: Settings,
): Promise<ScenarioResult> {
  const scenario = scenarios[name];
  const clients: ClientChild[] = [];
  try {
    for (const contender of contenderNames) {
      clients.push(
        await startClient(compiled, server, {
          contender,
          operation: scenario.operation,
          concurrency,
          url: server.url,
          // The local vault also holds the get scenarios' secret.
          expectedItems: scenario.items + (serverKind === "vault" ? 1 : 0),
        }),
      );
    }
    const rounds = new Map<ContenderName, RoundResult[]>(contenderNames.map((c) => [c, []]));
    for (let round = 0; round < settings.rounds; round++) {
      for (const client of clients) {
        const result = await runRound(client, {
          type: "round",
          warmupMs: round === 0 ? settings.firstWarmupMs : settings.roundWarmupMs,
          durationMs: settings.durationMs,
          maxOps: maxOpsPerRound,
        });
        rounds.get(client.contender)!.push(result);
      }
    }
    for (const client of clients) await stopClient(client);
    const contenders = {} as Record<ContenderName, ContenderFigures>;
    for (const client of clients) {
      const results = rounds.get(client.contender)!;
      const ops = results.reduce((sum, r) => sum + r.ops, 0);
      const elapsedMs = results.reduce((sum, r) => sum + r.elapsedMs, 0);
      const cpuUs = results.reduce((sum, r) => sum + r.cpuUs, 0);
      contenders[client.contender] = {
        ops,
        opsPerSecond: ops / (elapsedMs / 1000),
        cpuUsPerOp: ops === 0 ? NaN : cpuUs / ops,
        peakRssMb: client.peakRssKb / 1024,
        roundOpsPerSecond: results.map((r) => r.ops / (r.elapsedMs / 1000)),
      };
    }
    return {
      server: serverKind,
      scenario: name,
      label: scenario.label,
      concurrency,
      items: scenario.items,
      contenders,
    };
  } finally {
    for (const client of clients) client.child.kill("SIGKILL");
  }
}

function runColdStartOnce(
  compiled: CompiledBench,
  server: RunningServer,
  contender: ContenderName,
): ColdStartResult {
  // Plain node, no loader, a fresh process each time.
  const output = execFileSync(
    process.execPath,
    [compiled.benchModule("coldStart"), contender, server.url, compiled.ourModuleUrl],
    { env: server.clientEnv, timeout: 30_000, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  return JSON.parse(output.trim().split("\n").pop() ?? "{}") as ColdStartResult;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function runColdStart(
  compiled: CompiledBench,
  server: RunningServer,
  serverKind: ServerKind,
  runs: number,
): ColdResult {
  const samples = new Map<ContenderName, ColdStartResult[]>(contenderNames.map((c) => [c, []]));
  // One run of each contender per round, so drift hits all alike; the first round warms the disk cache.
  for (let run = -1; run < runs; run++) {
    for (const contender of contenderNames) {
      const result = runColdStartOnce(compiled, server, contender);
      if (run >= 0) samples.get(contender)!.push(result);
    }
  }
  const contenders = {} as ColdResult["contenders"];
  for (const contender of contenderNames) {
    const results = samples.get(contender)!;
    contenders[contender] = {
      medianImportToFirstGetMs: median(results.map((r) => r.importToFirstGetMs)),
      medianProcessToFirstGetMs: median(results.map((r) => r.processToFirstGetMs)),
      samplesMs: results.map((r) => Math.round(r.importToFirstGetMs * 10) / 10),
    };
  }
  return { server: serverKind, runs, contenders };
}

// ----------------------------------------------------------------------------------------------

function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "-";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function ratio(a: number, b: number): number {
  return b === 0 || !Number.isFinite(a) || !Number.isFinite(b) ? NaN : a / b;
}

function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : "-";
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function scenarioTable(results: ScenarioResult[]): string {
  const header = [
    "server",
    "scenario",
    "conc",
    "ops/s ours",
    "official",
    "raw",
    "CPU µs/op ours",
    "official",
    "raw",
    "peak RSS MB ours",
    "official",
    "raw",
    "ops/s ours/off",
    "ours/raw",
    "CPU ours/off",
    "ours/raw",
  ];
  const rows = results.map((r) => {
    const { ours, official, raw } = r.contenders;
    return [
      r.server,
      r.label,
      String(r.concurrency),
      formatNumber(ours.opsPerSecond, r.items > 0 ? 1 : 0),
      formatNumber(official.opsPerSecond, r.items > 0 ? 1 : 0),
      formatNumber(raw.opsPerSecond, r.items > 0 ? 1 : 0),
      formatNumber(ours.cpuUsPerOp),
      formatNumber(official.cpuUsPerOp),
      formatNumber(raw.cpuUsPerOp),
      formatNumber(ours.peakRssMb, 1),
      formatNumber(official.peakRssMb, 1),
      formatNumber(raw.peakRssMb, 1),
      formatRatio(ratio(ours.opsPerSecond, official.opsPerSecond)),
      formatRatio(ratio(ours.opsPerSecond, raw.opsPerSecond)),
      formatRatio(ratio(ours.cpuUsPerOp, official.cpuUsPerOp)),
      formatRatio(ratio(ours.cpuUsPerOp, raw.cpuUsPerOp)),
    ];
  });
  return table(header, rows);
}

function coldTable(results: ColdResult[]): string {
  const header = [
    "server",
    "cold start",
    "runs",
    "ours ms",
    "official ms",
    "raw ms",
    "ours/official",
    "ours/raw",
    "process->first get: ours",
    "official",
    "raw",
  ];
  const rows = results.map((r) => {
    const { ours, official, raw } = r.contenders;
    return [
      r.server,
      "import+construct+first get (median)",
      String(r.runs),
      formatNumber(ours.medianImportToFirstGetMs, 1),
      formatNumber(official.medianImportToFirstGetMs, 1),
      formatNumber(raw.medianImportToFirstGetMs, 1),
      formatRatio(ratio(ours.medianImportToFirstGetMs, official.medianImportToFirstGetMs)),
      formatRatio(ratio(ours.medianImportToFirstGetMs, raw.medianImportToFirstGetMs)),
      formatNumber(ours.medianProcessToFirstGetMs, 1),
      formatNumber(official.medianProcessToFirstGetMs, 1),
      formatNumber(raw.medianProcessToFirstGetMs, 1),
    ];
  });
  return table(header, rows);
}

/** The targets, judged on the fixed server (which measures clients, not a server). */
function judgeTargets(results: ScenarioResult[], cold: ColdResult[]): Target[] {
  const find = (scenario: ScenarioName, concurrency: number): ScenarioResult | undefined =>
    results.find(
      (r) => r.server === "fixed" && r.scenario === scenario && r.concurrency === concurrency,
    );
  const targets: Target[] = [];
  const check = (name: string, value: number, limit: number, atMost: boolean): void => {
    targets.push({
      name,
      value: formatRatio(value),
      limit: `${atMost ? "<=" : ">="} ${limit}x`,
      met: Number.isFinite(value) ? (atMost ? value <= limit : value >= limit) : undefined,
    });
  };
  for (const concurrency of concurrencies) {
    const get = find("get", concurrency);
    if (get === undefined) continue;
    const { ours, official, raw } = get.contenders;
    check(
      `CPU per getSecret, ours/official, c=${concurrency}`,
      ratio(ours.cpuUsPerOp, official.cpuUsPerOp),
      0.5,
      true,
    );
    check(
      `CPU per getSecret, ours/raw, c=${concurrency}`,
      ratio(ours.cpuUsPerOp, raw.cpuUsPerOp),
      1.4,
      true,
    );
  }
  for (const scenario of ["get", "set"] as const) {
    const result = find(scenario, 16);
    if (result === undefined) continue;
    const { ours, official } = result.contenders;
    check(
      `${result.label} throughput at c=16, ours/official`,
      ratio(ours.opsPerSecond, official.opsPerSecond),
      1.8,
      false,
    );
  }
  const coldFixed = cold.find((c) => c.server === "fixed");
  if (coldFixed !== undefined) {
    const { ours, official } = coldFixed.contenders;
    check(
      "cold start, ours/official",
      ratio(ours.medianImportToFirstGetMs, official.medianImportToFirstGetMs),
      0.8,
      true,
    );
  }
  // Flat memory: ten times the items must not cost (much) more memory than 1,000 did.
  for (const concurrency of concurrencies) {
    const small = find("list1k", concurrency);
    const large = find("list10k", concurrency);
    if (small === undefined || large === undefined) continue;
    const growth = large.contenders.ours.peakRssMb - small.contenders.ours.peakRssMb;
    targets.push({
      name: `list 10,000 at flat memory, ours, c=${concurrency} (peak RSS 10,000 - 1,000)`,
      value: `${growth >= 0 ? "+" : ""}${growth.toFixed(1)} MB`,
      limit: "<= +8 MB",
      met: growth <= 8,
    });
  }
  return targets;
}

function targetTable(targets: Target[]): string {
  return table(
    ["target", "value", "limit", "met"],
    targets.map((t) => [
      t.name,
      t.value,
      t.limit,
      t.met === undefined ? "?" : t.met ? "yes" : "NO",
    ]),
  );
}

function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    totalMemoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    freeMemoryGb: Math.round((freemem() / 1024 ** 3) * 10) / 10,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    platform: `${process.platform} ${process.arch}`,
  };
}

function resultsDir(compiled: CompiledBench): string {
  const dir = path.join(compiled.repoRoot, "bench", "results");
  mkdirSync(dir, { recursive: true });
  return dir;
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

// ----------------------------------------------------------------------------------------------

async function profileContenders(
  compiled: CompiledBench,
  chosen: ScenarioName[],
  settings: Settings,
  https: boolean,
): Promise<void> {
  const profileDir = mkdtempSync(path.join(tmpdir(), "keyvault-secrets-bench-profiles-"));
  const names = chosen.filter(
    (n): n is Exclude<ScenarioName, "cold" | "cache" | "startup"> =>
      n !== "cold" && n !== "cache" && n !== "startup",
  );
  const picked =
    names.length > 0 && names.length < scenarioNames.length - 3 ? names : ["get" as const];
  const summaries: Record<string, ProfileSummary & { ops: number }> = {};
  for (const name of picked) {
    const scenario = scenarios[name];
    const server = await startServer(compiled, "fixed", { items: scenario.items, https });
    try {
      for (const concurrency of concurrencies) {
        for (const contender of contenderNames) {
          const dir = path.join(profileDir, `${name}-c${concurrency}-${contender}`);
          const client = await startClient(
            compiled,
            server,
            {
              contender,
              operation: scenario.operation,
              concurrency,
              url: server.url,
              expectedItems: scenario.items,
            },
            ["--cpu-prof", "--cpu-prof-dir", dir],
          );
          const result = await runRound(client, {
            type: "round",
            warmupMs: settings.firstWarmupMs,
            durationMs: settings.profileMs,
            maxOps: maxOpsPerRound,
          });
          await stopClient(client);
          const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
          if (file === undefined) throw new Error(`No profile was written in ${dir}.`);
          // The profile spans start-up and warm-up too: per-op figures divide by every op run.
          const totalOps = result.ops + result.warmupOps + 1;
          const summary = summarizeProfile(path.join(dir, file));
          summaries[`${name} c=${concurrency} ${contender}`] = { ...summary, ops: totalOps };
          printProfile(
            `${scenario.label}, c=${concurrency}, ${contender}`,
            summary,
            path.join(dir, file),
            totalOps,
          );
        }
      }
    } finally {
      await server.stop();
    }
  }
  const file = path.join(resultsDir(compiled), `profile-${stamp()}.json`);
  writeFileSync(file, JSON.stringify({ machine: machine(), summaries }, null, 2) + "\n");
  process.stdout.write(
    `\nProfiles in ${profileDir}; summary in ${path.relative(process.cwd(), file)}\n`,
  );
}

function printProfile(title: string, summary: ProfileSummary, file: string, ops: number): void {
  const share = (us: number): string => `${((100 * us) / summary.busyUs).toFixed(1)}%`;
  const perOp = (us: number): string => formatNumber(us / ops, 1);
  process.stdout.write(
    `\n== ${title} (${path.basename(file)}): busy ${formatNumber(summary.busyUs / 1000)} ms, ` +
      `${formatNumber(ops)} ops with warm-up, ${perOp(summary.busyUs)} µs/op\n`,
  );
  process.stdout.write(
    table(
      ["area", "", "", "self ms", "µs/op", "share"],
      summary.areas
        .slice(0, 14)
        .map((a) => [
          a.area,
          "",
          "",
          formatNumber(a.selfUs / 1000, 1),
          perOp(a.selfUs),
          share(a.selfUs),
        ]),
    ) + "\n\n",
  );
  process.stdout.write(
    table(
      ["function", "location", "area", "self ms", "µs/op", "share"],
      summary.hotSpots
        .slice(0, 20)
        .map((h) => [
          h.functionName,
          h.location,
          h.area,
          formatNumber(h.selfUs / 1000, 1),
          perOp(h.selfUs),
          share(h.selfUs),
        ]),
    ) + "\n",
  );
}

// ----------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions();
  const started = Date.now();
  process.stdout.write("Compiling src/ and the benchmark programs ...\n");
  const compiled = compileBench();
  const cleanUp = (): void => {
    killAllChildren();
    compiled.remove();
  };
  process.once("exit", cleanUp);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      cleanUp();
      process.exit(130);
    });
  }
  const info = machine();
  process.stdout.write(
    `Node ${info.node}, ${info.cpus} CPUs (${info.cpuModel}), ${info.totalMemoryGb} GB, ` +
      `load ${(info.loadAverage as number[]).join(" ")}; transport ${options.https ? "https" : "http"}` +
      `${options.quick ? "; --quick" : ""}\n`,
  );
  if (options.profile) {
    await profileContenders(compiled, options.chosen, options.settings, options.https);
    return;
  }

  const results: ScenarioResult[] = [];
  const cold: ColdResult[] = [];
  for (const serverKind of options.servers) {
    for (const name of options.chosen) {
      if (name === "cache" || name === "startup") continue;
      const items = name === "cold" ? 0 : scenarios[name].items;
      const server = await startServer(compiled, serverKind, { items, https: options.https });
      try {
        if (name === "cold") {
          process.stdout.write(`${serverKind}: cold start x${options.settings.coldRuns} ...\n`);
          cold.push(runColdStart(compiled, server, serverKind, options.settings.coldRuns));
          continue;
        }
        for (const concurrency of concurrencies) {
          process.stdout.write(
            `${serverKind}: ${scenarios[name].label}, concurrency ${concurrency} ...\n`,
          );
          results.push(
            await runScenario(compiled, server, serverKind, name, concurrency, options.settings),
          );
        }
      } finally {
        await server.stop();
      }
    }
  }

  if (options.chosen.includes("cache")) {
    // SecretCache against the local vault with its real throttle: its own program and table.
    process.stdout.write("\nSecretCache: load 1,000 secrets under the real throttle ...\n");
    const cache = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/secretCache.ts",
        ...(options.quick ? ["--runs", "1", "--fleet", "2"] : []),
      ],
      { stdio: "inherit", timeout: 600_000 },
    );
    if (cache.status !== 0) throw new Error(`bench/secretCache.ts failed (exit ${cache.status}).`);
  }

  if (options.chosen.includes("startup")) {
    // Start-up of a vault with 100,000 versions under --location: its own program and table.
    const startup = spawnSync(
      process.execPath,
      ["--import", "tsx", "bench/vaultStartup.ts", ...(options.quick ? ["--runs", "2"] : [])],
      { stdio: "inherit", timeout: 600_000 },
    );
    if (startup.status !== 0) {
      throw new Error(`bench/vaultStartup.ts failed (exit ${startup.status}).`);
    }
  }

  const targets = judgeTargets(results, cold);
  const output = [
    "",
    results.length > 0 ? scenarioTable(results) : "",
    cold.length > 0 ? "\n" + coldTable(cold) : "",
    targets.length > 0
      ? "\nTargets (fixed server; ratios from this run):\n" + targetTable(targets)
      : "",
    `\nDone in ${Math.round((Date.now() - started) / 1000)} s; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}.`,
  ].join("\n");
  process.stdout.write(output + "\n");
  const file = path.join(resultsDir(compiled), `bench-${stamp()}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        machine: { ...info, loadAverageAtEnd: loadavg() },
        settings: { ...options.settings, quick: options.quick, https: options.https },
        results,
        coldStart: cold,
        targets,
      },
      null,
      2,
    ) + "\n",
  );
  process.stdout.write(`Results written to ${path.relative(process.cwd(), file)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  killAllChildren();
  process.exitCode = 1;
});
