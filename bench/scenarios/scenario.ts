/** What a scenario is, and what a run gives it. */
import type { CompiledBench } from "../framework/compile.js";
import type { BenchOptions, CountSpec, ScenarioInfo } from "../framework/options.js";
import type { ClientFigures } from "./client/clientReport.js";

/** What a scenario gets from the run. */
export interface RunContext {
  options: BenchOptions;
  /** The machine, and its load, at the start of the run. */
  machine: Record<string, unknown>;
  /** src/ and the child programs, compiled on first use (once a run). */
  compiled(): CompiledBench;
  /** Where the client scenarios put their figures: one table and one judgement for them all. */
  clientFigures: ClientFigures;
}

/** One scenario: a name on the command line, its count flags `K`, and what it runs. */
export interface Scenario<K extends string = string> extends ScenarioInfo {
  counts?: Record<K, CountSpec>;
  /**
   * Runs the scenario: prints its progress, and its table and results file, or adds its figures
   * to `context.clientFigures`.
   * @param context - the run
   * @param counts - its count flags, as given or by default
   */
  run(context: RunContext, counts: Record<K, number>): Promise<void>;
}
