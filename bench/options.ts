/** Scenarios, settings and the command line of `npm run bench`. */
import { parseArgs } from "node:util";
import type { OperationKind } from "./protocol.js";

export const scenarioNames = [
  "get",
  "set",
  "list1k",
  "list10k",
  "cold",
  "cache",
  "refresh",
  "startup",
] as const;
export type ScenarioName = (typeof scenarioNames)[number];
/** The scenarios that run in a program of their own (cold start: the contenders' cold start). */
export type OwnProgramScenario = "cold" | "cache" | "refresh" | "startup";
/** The scenarios that measure the contenders' operations (get, set, list). */
export type ClientScenarioName = Exclude<ScenarioName, OwnProgramScenario>;
export type ServerKind = "fixed" | "vault";

export interface Scenario {
  operation: OperationKind;
  /** Secrets in the vault (list scenarios). */
  items: number;
  label: string;
}

export const scenarios: Record<ClientScenarioName, Scenario> = {
  get: { operation: "get", items: 0, label: "getSecret" },
  set: { operation: "set", items: 0, label: "setSecret" },
  list1k: { operation: "list", items: 1_000, label: "list 1,000" },
  list10k: { operation: "list", items: 10_000, label: "list 10,000" },
};

export const concurrencies = [1, 16];

export interface Settings {
  rounds: number;
  durationMs: number;
  firstWarmupMs: number;
  roundWarmupMs: number;
  coldRuns: number;
  profileMs: number;
}

export const fullSettings: Settings = {
  rounds: 3,
  durationMs: 2_000,
  firstWarmupMs: 1_000,
  roundWarmupMs: 300,
  coldRuns: 10,
  profileMs: 5_000,
};
export const quickSettings: Settings = {
  rounds: 2,
  durationMs: 500,
  firstWarmupMs: 400,
  roundWarmupMs: 150,
  coldRuns: 5,
  profileMs: 2_000,
};

/** No round may do more than this many operations (a bound on every loop, whatever the speed). */
export const maxOpsPerRound = 2_000_000;

export const usage = `Usage: npm run bench -- [--quick] [--scenario NAME]... [--server fixed|vault|both] [--https] [--profile]

  --quick            short rounds (about a minute in all), for a smoke check
  --scenario NAME    ${scenarioNames.join(", ")} (repeatable, or comma-separated; default: all)
  --server KIND      fixed (canned answers), vault (the local vault) or both (default)
  --https            every server and contender over TLS with a generated CA (NODE_EXTRA_CA_CERTS)
  --profile          CPU-profile our client and the official one (get, or the chosen scenarios)
  --charts           SVG charts (bench/charts/) of the newest results; with --scenario, after the run
  --micro            micro-measurements of one getSecret, piece by piece, in one process
`;

export function parseOptions(): {
  settings: Settings;
  quick: boolean;
  chosen: ScenarioName[];
  servers: ServerKind[];
  https: boolean;
  profile: boolean;
  charts: boolean;
  micro: boolean;
  scenarioGiven: boolean;
} {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      scenario: { type: "string", multiple: true },
      server: { type: "string", default: "both" },
      https: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      charts: { type: "boolean", default: false },
      micro: { type: "boolean", default: false },
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
    scenarioGiven: chosen.length > 0,
    servers: server === "both" ? ["fixed", "vault"] : [server],
    https: values.https,
    profile: values.profile,
    charts: values.charts,
    micro: values.micro,
  };
}
