// `npm test` after the build: the static checks (typecheck, lint, API reports, README snippets)
// and the two test runs with coverage, side by side. The tests spend much of their time waiting on
// sockets and child processes, so the checks take little from them. The tests' output comes as it
// comes; the checks' is printed when they end. Fails when either fails.
import { spawn } from "node:child_process";

const checks = ["typecheck", "lint", "check:api", "check:readme"];

/**
 * Runs `npm run <script>`.
 * @param {string} script - the package script
 * @param {"inherit" | "pipe"} output - pass the output through, or collect it
 * @returns {Promise<{ status: number, output: string }>}
 */
function npmRun(script, output) {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", script], { stdio: ["ignore", output, output] });
    let text = "";
    if (output === "pipe") {
      child.stdout.setEncoding("utf8").on("data", (chunk) => (text += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk) => (text += chunk));
    }
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ status: code ?? (signal ? 1 : 0), output: text }),
    );
  });
}

/** Runs the checks one after the other, stopping at the first failure. */
async function staticChecks() {
  let output = "";
  for (const script of checks) {
    const run = await npmRun(script, "pipe");
    output += run.output;
    if (run.status !== 0) return { status: run.status, output, failed: script };
  }
  return { status: 0, output };
}

const [checked, tested] = await Promise.all([staticChecks(), npmRun("test:coverage", "inherit")]);
console.log(`\n--- static checks (${checks.join(", ")}) ---${checked.output}`);
if (checked.status !== 0) console.error(`npm run ${checked.failed} failed.`);
if (tested.status !== 0) console.error("npm run test:coverage failed.");
process.exitCode = checked.status !== 0 || tested.status !== 0 ? 1 : 0;
