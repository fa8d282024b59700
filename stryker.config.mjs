// Mutation testing (StrykerJS, issue #27): the modules that carry one of the README's safety
// promises, each with the mocha run that checks it. This file is the one list of mutated modules;
// `npm run test:mutation` (scripts/mutation.mjs) runs Stryker once per run below, one after the
// other, with MUTATION_RUN naming the run, and checks every module's score.
//
// Two runs because unit tests (nock) and real-socket tests never share a process (STYLE habit 14).

/** Each run: the modules it mutates and the specs that check them. */
export const mutationRuns = {
  unit: {
    mutate: [
      // No token to a foreign host: the challenge policy and what may get a token over http.
      "src/policies/challengeAuthenticationPolicy.ts",
      "src/loopbackHost.ts",
      // Retries that end, and back off together.
      "src/pipeline/keyVaultRetryPolicy.ts",
      "src/policies/retryStrategies.ts",
      "src/util/retry.ts",
      "src/secretCache/sharedBackoff.ts",
      // Values never printed.
      "src/inject/secretMasker.ts",
      // Names and ids that stay one path segment, one vault.
      "src/util/names.ts",
      "src/identifier.ts",
    ],
    spec: ["test/unit/**/*.spec.ts"],
    // The build checks read dist/ and the tree, not the behaviour of a mutated module.
    ignore: ["test/unit/build/**"],
    require: [],
  },
  emulator: {
    mutate: [
      // The local vault refuses other hosts and origins.
      "src/emulator/http/hosts.ts",
      "src/emulator/http/listener.ts",
      // Tokens and the identity endpoint.
      "src/emulator/http/auth.ts",
      "src/emulator/routes/identity.ts",
      // A version is visible only once it is durable.
      "src/emulator/persistence/persistence.ts",
      "src/emulator/state/durableStore.ts",
      // The page's one-time link and session.
      "src/emulator/page/pageRoutes.ts",
    ],
    spec: ["test/emulator/**/*.spec.ts"],
    // These start the built CLI (dist/) or a container's command in a child process: they check
    // no mutant and would need a build inside the sandbox.
    ignore: [
      "test/emulator/cli.spec.ts",
      "test/emulator/compose.spec.ts",
      "test/emulator/container.spec.ts",
      "test/emulator/export.spec.ts",
    ],
    // Not test/helpers/socketRun.ts: its open-handle check ends a process that outlives its last
    // test by 10 s, and Stryker's test runner process lives on between runs by design. These
    // specs never load nock.
    require: [],
  },
};

/**
 * Where each run's results go (reports/ is git-ignored; the incremental files are committed), and
 * the committed reasons for the run's surviving mutants.
 */
export const mutationFiles = (run) => ({
  json: `reports/mutation/${run}.json`,
  incremental: `test/mutation/${run}.incremental.json`,
  survivors: `test/mutation/${run}.survivors.json`,
});

/**
 * The files of a run over one module (`npm run test:mutation -- --module=<path>`), all git-ignored:
 * its own incremental file, so that trying a test again re-tests only what the test changed.
 */
export const moduleRunFiles = (run) => ({
  json: `reports/mutation/${run}.module.json`,
  incremental: `reports/mutation/${run}.module.incremental.json`,
});

/**
 * The run whose `mutate` list names a module.
 * @param {string} module - a path of a `mutate` list
 * @returns {string | undefined} the run, or undefined when no run mutates it
 */
export function runOfModule(module) {
  return Object.keys(mutationRuns).find((run) => mutationRuns[run].mutate.includes(module));
}

/**
 * The Stryker configuration of one run.
 * @param {keyof typeof mutationRuns} run - the run
 * @returns {import("@stryker-mutator/api/core").PartialStrykerOptions} the configuration
 */
export function strykerConfig(run) {
  const settings = mutationRuns[run];
  if (settings === undefined) {
    throw new RangeError(
      `MUTATION_RUN="${run}" names no run; use one of ${Object.keys(mutationRuns).join(", ")}.`,
    );
  }
  // MUTATION_MODULE: one module of this run, with files of its own (see moduleRunFiles).
  const only = process.env.MUTATION_MODULE;
  if (only !== undefined && !settings.mutate.includes(only)) {
    throw new RangeError(`MUTATION_MODULE="${only}" is not mutated by the run "${run}".`);
  }
  const files = only === undefined ? mutationFiles(run) : moduleRunFiles(run);
  return {
    testRunner: "mocha",
    // tsx loads the TypeScript specs and the instrumented sources, as in `npm test`.
    testRunnerNodeArgs: ["--import", "tsx"],
    mochaOptions: {
      "no-config": true,
      "no-package": true,
      spec: settings.spec,
      ignore: settings.ignore,
      require: settings.require,
    },
    checkers: ["typescript"],
    tsconfigFile: "tsconfig.json",
    coverageAnalysis: "perTest",
    mutate: only === undefined ? settings.mutate : [only],
    concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
    // A busy machine: a mutant counts as a timeout only well past the baseline.
    timeoutMS: 10_000,
    dryRunTimeoutMinutes: 10,
    reporters: ["json", "progress", "clear-text"],
    jsonReporter: { fileName: files.json },
    incrementalFile: files.incremental,
    tempDirName: ".stryker-tmp",
    // dist/ comes along: a spec that bundles a fixture for a child process checks that the
    // package is built (test/helpers/childProcesses.ts), though the child runs no mutant.
    ignorePatterns: ["coverage", ".ci", "docs/api", "temp", "bench/results", "reports"],
    // The per-module check of scripts/mutation.mjs decides; Stryker's own threshold is global.
    thresholds: { high: 90, low: 85, break: null },
  };
}

export default strykerConfig(process.env.MUTATION_RUN ?? "unit");
