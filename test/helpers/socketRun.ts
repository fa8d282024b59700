/**
 * Root hooks of the real-socket mocha run (`npm run test:sockets`), loaded with `--require`.
 *
 * - nock must never be loaded here: it patches `http.request` and `ClientRequest` for the whole
 *   process, and the tests of this run are about real connections.
 * - The run has no `--exit`: once the tests are done, anything still open (a server, a socket, a
 *   timer) keeps the process alive. That is a leak; it is named and the run fails.
 */
import http from "node:http";

const pristine = { request: http.request, get: http.get, ClientRequest: http.ClientRequest };

/** How long the process may stay alive after the last test before it counts as a leak. */
const leakGraceInMs = 10_000;

export const mochaHooks = {
  afterAll(): void {
    if (
      http.request !== pristine.request ||
      http.get !== pristine.get ||
      http.ClientRequest !== pristine.ClientRequest
    ) {
      throw new Error(
        "node:http was patched (nock?) in the real-socket run; nock belongs in the unit run only.",
      );
    }
    // Unref'd: it fires only if something else keeps the process alive.
    setTimeout(() => {
      process.stderr.write(
        `The real-socket run left handles open after its last test: ${process
          .getActiveResourcesInfo()
          .filter((kind) => kind !== "Timeout")
          .join(", ")}\n`,
      );
      // Mocha sets the exit code from the failure count in its own "exit" listener; this one runs
      // after it.
      process.on("exit", () => {
        process.exitCode = 1;
      });
      process.exit(1);
    }, leakGraceInMs).unref();
  },
};
