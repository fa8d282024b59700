// The real-socket run (`npm run test:sockets`; one file: `npx mocha --config .mocharc.sockets.cjs
// <file>`): the shared settings of .mocharc.cjs, nock kept out (test/helpers/socketRun.ts), and the
// sources loaded as ES modules (tsx/esm), as the package's users load them. Each source then has
// one compilation in the process; with the CommonJS hooks of `tsx`, a module the client imports
// lazily came back as a second, ESM compilation of its imports, which coverage cannot map. The
// unit run stays CommonJS: on Node.js 20, nock misses the requests of an ES module client.
const shared = require("./.mocharc.cjs");

module.exports = {
  ...shared,
  import: "tsx/esm",
  require: [...shared.require, "test/helpers/socketRun.ts"],
};
