/**
 * Where the client CPU of one getSecret goes over real sockets, layer by layer, in one process
 * against the fixed server (its own process): the raw loop, our lean HTTP client alone, the same
 * with the headers every client sends (User-Agent, x-ms-client-request-id), an empty pipeline,
 * the client's full pipeline (no client span), and the whole `getSecret`. Concurrency 16, layers
 * interleaved in rounds; CPU per operation from process.cpuUsage.
 *
 *   node --import tsx bench/layers.ts [srcRoot]
 *
 * `srcRoot` (default ../src) lets the same layers run against an older tree (e.g. a `git archive`
 * of a previous commit) for a before/after.
 */
import { fork } from "node:child_process";
import { Agent as HttpAgent } from "node:http";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
} from "@azure/core-rest-pipeline";
import { createRawContender } from "./contenders.js";
import { benchApiVersion, benchToken, getSecretName, type ServerReady } from "./protocol.js";

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const srcRoot = path.resolve(benchDir, process.argv[2] ?? "../src");
const { SecretClient } = (await import(
  pathToFileURL(path.join(srcRoot, "index.ts")).href
)) as typeof import("../src/index.js");
const { createKeyVaultHttpClient } = (await import(
  pathToFileURL(path.join(srcRoot, "http", "keyVaultHttpClient.ts")).href
)) as {
  createKeyVaultHttpClient: (fallback: HttpClient, agentFor?: () => HttpAgent) => HttpClient;
};

const server = fork(
  path.join(benchDir, "fixedServer.ts"),
  [JSON.stringify({ items: 0, https: false })],
  {
    execArgv: ["--import", "tsx"],
  },
);
const url = await new Promise<string>((resolve) =>
  server.on("message", (message: ServerReady) => {
    if (message.type === "listening") resolve(message.url);
  }),
);

const raw = createRawContender(url);
const client = new SecretClient(
  url,
  { getToken: async () => ({ token: benchToken, expiresOnTimestamp: Date.now() + 3_600_000 }) },
  { allowInsecureConnection: true, disableChallengeResourceVerification: true },
);
const leanAgent = new HttpAgent({ keepAlive: true });
// Older trees take no agent argument and use their own.
const lean = createKeyVaultHttpClient(
  { sendRequest: () => Promise.reject(new Error("no fallback in this measurement")) },
  () => leanAgent,
);
const userAgent = "keyvault-secrets/0.1.0 core-rest-pipeline/1.25.0 Node/20 OS/(x64-Linux)";
const request = (withClientHeaders: boolean) => {
  const headers = createHttpHeaders({
    accept: "application/json",
    authorization: `Bearer ${benchToken}`,
  });
  if (withClientHeaders) {
    headers.set("User-Agent", userAgent);
    headers.set("x-ms-client-request-id", randomUUID());
  }
  return createPipelineRequest({
    url: `${url}/secrets/${getSecretName}/?api-version=${benchApiVersion}`,
    headers,
    allowInsecureConnection: true,
  });
};
const valueOf = (text: string | null | undefined): unknown =>
  (JSON.parse(text!) as { value: unknown }).value;
const empty = createEmptyPipeline();
const full = (Reflect.get(client, "clientPipeline") as { pipeline: Pipeline }).pipeline;

const layers: Array<[string, () => Promise<unknown>]> = [
  ["raw node:http loop", () => raw.get()],
  ["lean HTTP client", async () => valueOf((await lean.sendRequest(request(false))).bodyAsText)],
  [
    "lean + User-Agent, x-ms-client-request-id",
    async () => valueOf((await lean.sendRequest(request(true))).bodyAsText),
  ],
  [
    "empty pipeline + lean",
    async () => valueOf((await empty.sendRequest(lean, request(true))).bodyAsText),
  ],
  [
    "client's pipeline (no client span) + lean",
    async () => valueOf((await full.sendRequest(lean, request(false))).bodyAsText),
  ],
  [
    "getSecret (span, request, pipeline, mapping)",
    async () => (await client.getSecret(getSecretName)).value,
  ],
];

async function cpuPerOp(operation: () => Promise<unknown>, ms: number): Promise<number> {
  let ops = 0;
  const end = Date.now() + ms;
  const start = process.cpuUsage();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < end) {
        await operation();
        ops++;
      }
    }),
  );
  const used = process.cpuUsage(start);
  return (used.user + used.system) / ops;
}

for (const [, operation] of layers) await cpuPerOp(operation, 500);
const samples = new Map<string, number[]>(layers.map(([name]) => [name, []]));
for (let round = 0; round < 5; round++) {
  for (const [name, operation] of layers) samples.get(name)!.push(await cpuPerOp(operation, 1000));
}
process.stdout.write(
  `src: ${path.relative(process.cwd(), srcRoot)}\n| layer | CPU µs/op (median of 5) |\n|---|---|\n`,
);
for (const [name, values] of samples) {
  values.sort((a, b) => a - b);
  process.stdout.write(`| ${name} | ${values[2]!.toFixed(1)} |\n`);
}
client.close();
leanAgent.destroy();
raw.close();
server.kill();
process.exit(0);
