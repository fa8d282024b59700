/**
 * The worker thread of the preload's watching (see preloadWatch.ts): reads the vault every
 * interval (the first time in full, then what changed) and posts to the app's thread what changed
 * and the warning lines. It runs unref'd, so it never keeps the app alive.
 */
import { parentPort, workerData } from "node:worker_threads";
import { EnvironmentSource, type Reloaded } from "./environmentSource.js";
import { describeChange, EnvironmentWatcher } from "./environmentWatcher.js";
import { settingsFromEnvironment } from "./loadEnvironment.js";
import type { WatchWorkerData, WatchWorkerMessage } from "./preloadWatch.js";

const data = workerData as WatchWorkerData;
const post = (message: WatchWorkerMessage): void => parentPort!.postMessage(message);
let source: EnvironmentSource | undefined;

/** The first read opens the source (one full load); later reads reload what changed. */
async function reload(abortSignal: AbortSignal): Promise<Reloaded> {
  if (source !== undefined) return source.reload(abortSignal);
  source = await EnvironmentSource.open(settingsFromEnvironment(data.env), data.env, {
    abortSignal,
    fastRetries: data.fastRetries,
    reading: "watch",
  });
  return { result: source.result, details: [] };
}

new EnvironmentWatcher({
  intervalInMs: data.intervalInMs,
  reload,
  variables: data.variables,
  holder: "process.env",
  holdsEventLoop: true,
  warn: (line) => post({ kind: "warning", line }),
  onChange: (change) =>
    post({
      kind: "change",
      variables: change.variables,
      added: change.added,
      updated: change.updated,
      removed: change.removed,
      description: describeChange(change),
    }),
}).start();
