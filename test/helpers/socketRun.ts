/**
 * Root hooks of the real-socket mocha run (`npm run test:sockets`), loaded with `--require`.
 *
 * nock must never be loaded here: it patches `http.request` and `ClientRequest` for the whole
 * process, and the tests of this run are about real connections. (Handles left open fail this run
 * as they fail every run: see openHandles.ts.)
 */
import http from "node:http";

const pristine = { request: http.request, get: http.get, ClientRequest: http.ClientRequest };

/** Fails the run when something (nock) patched `node:http` in this process. */
function failIfHttpPatched(): void {
  if (
    http.request !== pristine.request ||
    http.get !== pristine.get ||
    http.ClientRequest !== pristine.ClientRequest
  ) {
    throw new Error(
      "node:http was patched (nock?) in the real-socket run; nock belongs in the unit run only.",
    );
  }
}

export const mochaHooks = {
  afterAll: failIfHttpPatched,
};
