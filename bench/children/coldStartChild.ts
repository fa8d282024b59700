/**
 * Cold start of one contender, a one-shot child: a fresh process imports the client, constructs it
 * and completes the first getSecret (challenge round trip included for the clients), then prints
 * a ColdStartResult and exits. With `core` instead of a contender it only imports
 * `@azure/core-rest-pipeline` (for the floor of a client built on it). Protocol:
 * framework/protocol.ts.
 */
import { performance } from "node:perf_hooks";
import { childConfig, printResult } from "../framework/childSide.js";
import type { ColdStartConfig, ColdStartResult } from "../framework/protocol.js";

async function main(): Promise<void> {
  const { contender: contenderName, url, ourModuleUrl } = childConfig<ColdStartConfig>();
  const started = performance.now();
  if (contenderName === "core") {
    // Not a contender: `@azure/core-rest-pipeline` alone, which every client built on it imports.
    await import("@azure/core-rest-pipeline");
    printResult({ importMs: performance.now() - started } satisfies ColdStartResult);
    process.exit(0);
  }
  // The client's module first, timed on its own; createContender's import then finds it loaded.
  if (contenderName === "ours") await import(ourModuleUrl);
  else if (contenderName === "official") await import("@azure/keyvault-secrets");
  const imported = performance.now();
  // contenders.ts imports the chosen client lazily, so this measures that client's import only.
  const { createContender } = await import("./contenders.js");
  const contender = await createContender(contenderName, url, ourModuleUrl);
  const value = await contender.get();
  const done = performance.now();
  if (value === undefined) throw new Error("The first getSecret returned no value.");
  printResult({
    importMs: imported - started,
    importToFirstGetMs: done - started,
    processToFirstGetMs: done,
  } satisfies ColdStartResult);
  contender.close();
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
