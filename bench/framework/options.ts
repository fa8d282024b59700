/** The command line of `npm run bench`: the scenarios, the common flags, each scenario's own. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { ServerKind } from "./servers.js";

/** What the command line needs to know of a scenario. */
export interface ScenarioInfo {
  name: string;
  /** One line for --help. */
  summary: string;
  /** Part of a run without --scenario. */
  byDefault: boolean;
  /** Its count flags (runs, secrets, ...), by name. Several scenarios may share one. */
  counts?: Record<string, CountSpec>;
  /** Its other flags (each takes a value), by name. */
  flags?: Record<string, FlagSpec>;
}

/** A scenario's flag: what it does, and the values it may take (any, without `values`). */
export interface FlagSpec {
  about: string;
  values?: readonly string[];
  /** Several of `values`, comma-separated. */
  many?: boolean;
}

/** A scenario's count flag: what it counts, and its defaults. */
export interface CountSpec extends FlagSpec {
  /** The default in a full run (a whole number of 1 or more). */
  full: number;
  /** The default under --quick (default: `full`). */
  quick?: number;
}

/** A run's options. */
export interface BenchOptions {
  /** Short rounds and fewer runs, for a smoke check. */
  quick: boolean;
  /** The scenarios to run, in the order the registry lists them. */
  chosen: string[];
  /** Whether --scenario (or --micro, --profile) named them. */
  scenarioGiven: boolean;
  /** The servers of the client scenarios. */
  servers: ServerKind[];
  /** Every server and contender of the client scenarios over TLS. */
  https: boolean;
  /** SVG charts into bench/charts/: of the newest results, or after the run. */
  charts: boolean;
  /** Values of the scenarios' own flags, as given. */
  flags: Record<string, string | undefined>;
}

const commonFlags = `  --quick            short rounds and fewer runs, for a smoke check
  --scenario NAME    repeatable, or comma-separated (default: every scenario marked *)
  --server KIND      fixed (canned answers), vault (the local vault) or both (default), for the
                     client scenarios
  --https            every server and contender of the client scenarios over TLS with a generated
                     CA (NODE_EXTRA_CA_CERTS)
  --profile          the same as --scenario profile: CPU profiles of the chosen client operations
  --micro            the same as --scenario micro
  --charts           SVG charts (bench/charts/) of the newest results; with --scenario, after the run
`;

/**
 * The usage text.
 * @param scenarios - every scenario
 * @returns it
 */
export function usage(scenarios: readonly ScenarioInfo[]): string {
  const lines = ["Usage: npm run bench -- [flags]", "", commonFlags, "Scenarios (* by default):"];
  for (const scenario of scenarios) {
    lines.push(
      `  ${scenario.byDefault ? "*" : " "} ${scenario.name.padEnd(9)} ${scenario.summary}`,
    );
  }
  lines.push("", "Flags of some scenarios:");
  for (const [flag, descriptions] of Object.entries(flagsOf(scenarios))) {
    descriptions.forEach((description, i) =>
      lines.push(`  ${(i === 0 ? `--${flag} VALUE` : "").padEnd(22)} ${description}`),
    );
  }
  return lines.join("\n") + "\n";
}

/** Every scenario flag, with what it does in each scenario that takes it. */
function flagsOf(scenarios: readonly ScenarioInfo[]): Record<string, string[]> {
  const flags: Record<string, string[]> = {};
  for (const scenario of scenarios) {
    const specs: Record<string, FlagSpec | CountSpec> = { ...scenario.counts, ...scenario.flags };
    for (const [flag, spec] of Object.entries(specs)) {
      (flags[flag] ??= []).push(`${scenario.name}: ${spec.about}${defaultsOf(spec)}`);
    }
  }
  return flags;
}

function defaultsOf(spec: FlagSpec | CountSpec): string {
  if (spec.values !== undefined) {
    return spec.many === true
      ? ` (some of ${spec.values.join(", ")}; default: all)`
      : ` (${spec.values.join(" or ")}; default: ${spec.values[0]})`;
  }
  if (!("full" in spec)) return "";
  const quick =
    spec.quick === undefined || spec.quick === spec.full ? "" : `; --quick ${spec.quick}`;
  return ` (default ${spec.full}${quick})`;
}

/**
 * Reads the command line.
 * @param scenarios - every scenario, in run order
 * @param args - the arguments (default: this process's)
 * @returns the options
 * @throws TypeError for an unknown scenario, server or flag
 */
export function parseOptions(
  scenarios: readonly ScenarioInfo[],
  args: string[] = process.argv.slice(2),
): BenchOptions {
  const scenarioFlags: ParseArgsConfig["options"] = {};
  for (const flag of Object.keys(flagsOf(scenarios))) scenarioFlags[flag] = { type: "string" };
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      scenario: { type: "string", multiple: true },
      server: { type: "string", default: "both" },
      https: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      charts: { type: "boolean", default: false },
      micro: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      ...scenarioFlags,
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(usage(scenarios));
    process.exit(0);
  }
  const names = scenarios.map((scenario) => scenario.name);
  const given = ((values.scenario ?? []) as string[])
    .flatMap((value) => value.split(","))
    .map((value) => value.trim())
    .filter((value) => value !== "");
  if (values.profile === true) given.push("profile");
  for (const name of given) {
    if (!names.includes(name)) {
      throw new TypeError(`Unknown scenario "${name}"; use one of ${names.join(", ")}.`);
    }
  }
  const chosen =
    values.micro === true
      ? ["micro"]
      : given.length > 0
        ? names.filter((name) => given.includes(name))
        : scenarios.filter((scenario) => scenario.byDefault).map((scenario) => scenario.name);
  const server = values.server as string;
  if (server !== "fixed" && server !== "vault" && server !== "both") {
    throw new TypeError(`--server must be fixed, vault or both, got "${server}".`);
  }
  const flags: Record<string, string | undefined> = {};
  for (const flag of Object.keys(scenarioFlags)) {
    flags[flag] = (values as Record<string, unknown>)[flag] as string | undefined;
  }
  for (const scenario of scenarios) checkValues(scenario, flags);
  return {
    quick: values.quick === true,
    chosen,
    scenarioGiven: given.length > 0 || values.micro === true,
    servers: server === "both" ? ["fixed", "vault"] : [server],
    https: values.https === true,
    charts: values.charts === true,
    flags,
  };
}

/**
 * A scenario's count flags (runs, secrets, ...): as given, or their defaults for the kind of run.
 * @param options - the run's options
 * @param specs - the count flags, by name
 * @returns each a whole number of 1 or more
 * @throws RangeError when a flag's value is not one
 */
export function countsOf<K extends string>(
  options: BenchOptions,
  specs: Record<K, CountSpec>,
): Record<K, number> {
  const counts = {} as Record<K, number>;
  for (const flag of Object.keys(specs) as K[]) {
    const spec = specs[flag];
    const given = options.flags[flag];
    const value =
      given === undefined ? (options.quick ? (spec.quick ?? spec.full) : spec.full) : Number(given);
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`--${flag} must be a whole number of 1 or more, got "${given}".`);
    }
    counts[flag] = value;
  }
  return counts;
}

/** Checks that every flag of the scenario that was given takes one of its values. */
function checkValues(scenario: ScenarioInfo, flags: Record<string, string | undefined>): void {
  for (const [flag, spec] of Object.entries(scenario.flags ?? {})) {
    const given = flags[flag];
    if (given === undefined || spec.values === undefined) continue;
    for (const value of spec.many === true ? splitList(given) : [given]) {
      if (!spec.values.includes(value)) {
        throw new RangeError(`--${flag}: unknown "${value}"; use ${spec.values.join(", ")}.`);
      }
    }
  }
}

function splitList(value: string): string[] {
  return value.split(",").map((item) => item.trim());
}

/**
 * A scenario's list flag (comma-separated; checked by parseOptions against its values).
 * @param options - the run's options
 * @param flag - the flag's name, without `--`
 * @param all - every value it may hold: its default
 * @returns the values given, or all
 */
export function listFlag<T extends string>(
  options: BenchOptions,
  flag: string,
  all: readonly T[],
): T[] {
  const given = options.flags[flag];
  return given === undefined ? [...all] : (splitList(given) as T[]);
}
