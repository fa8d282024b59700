// Shared by the two mocha runs of `npm test` (see package.json): `test:unit` (nock allowed, this
// file) and `test:sockets` (real sockets, no nock: .mocharc.sockets.cjs builds on this file). No
// `exit`: a handle left open must not be hidden, and test/helpers/openHandles.ts fails any run
// that leaves one. `.only` fails the run in CI.
module.exports = {
  import: "tsx",
  require: ["test/helpers/openHandles.ts"],
  timeout: 20000,
  reporter: "dot",
  forbidOnly: process.env.CI === "true",
};
