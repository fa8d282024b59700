// Preloaded (NODE_OPTIONS=--import) into Stryker's processes by scripts/mutation.mjs.
//
// @stryker-mutator/mocha-runner 10.1.1 reaches into mocha's CLI with extensionless require()s
// (`mocha/lib/cli/run-helpers`, `.../options`, `.../collect-files`); mocha 12 ships those files as
// `.cjs`, so the plugin fails to load ("Cannot find TestRunner plugin mocha"). Known upstream:
// stryker-js pull request #6205 (open when written). Letting require() probe `.cjs` as it probes
// `.js` is the whole fix; remove this file once a mocha-runner release has it.
import Module from "node:module";

Module._extensions[".cjs"] ??= Module._extensions[".js"];
