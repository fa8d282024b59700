/**
 * Root hooks of every mocha run, loaded by `.mocharc.cjs` (`require`): the unit run
 * (`npm run test:unit`, nock allowed), the real-socket run (`npm run test:sockets`) and a single
 * spec file run by hand alike.
 *
 * No run uses `--exit`: once the tests are done, anything still open (a server, a socket, a timer,
 * a child process) keeps the process alive. That is a leak; it is named and the run fails.
 */

/**
 * How long the process may stay alive after the last test before it counts as a leak
 * (KV_TEST_LEAK_GRACE_MS shortens it for the guard's own test).
 */
const leakGraceInMs = Number(process.env["KV_TEST_LEAK_GRACE_MS"] ?? 10_000);

/** Fails the run when the process is still alive `leakGraceInMs` after the last test. */
function failIfStillAlive(): void {
  // Unref'd: it fires only if something else keeps the process alive.
  setTimeout(() => {
    // This timer is unref'd, so it is not among the resources listed.
    const open = process.getActiveResourcesInfo().join(", ");
    process.stderr.write(`The mocha run left handles open after its last test: ${open}\n`);
    // Mocha sets the exit code from the failure count in its own "exit" listener; this one runs
    // after it.
    process.on("exit", () => {
      process.exitCode = 1;
    });
    process.exit(1);
  }, leakGraceInMs).unref();
}

export const mochaHooks = {
  afterAll: failIfStillAlive,
};
