/**
 * The client scenario layers: where the client CPU of one getSecret goes over real sockets, layer
 * by layer, in this process against the fixed server (its own process): the raw loop, our lean HTTP
 * client alone, the same with the headers every client sends (User-Agent, x-ms-client-request-id),
 * an empty pipeline, the client's full pipeline (no client span), and the whole `getSecret`.
 * Concurrency 16, layers interleaved in rounds; CPU per operation from process.cpuUsage.
 *
 * The client runs here, through the TypeScript loader: `--src DIR` runs the same layers against
 * an older tree (e.g. a `git archive` of a previous commit) for a before/after. Measured in the
 * benchmark's own process: run it alone.
 */
import { existsSync } from "node:fs";
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
import { benchCredential, clientOptions, createRawContender } from "../../children/contenders.js";
import { benchApiVersion, benchToken, getSecretName } from "../../framework/fixtures.js";
import { median, takeTurns } from "../../framework/measure.js";
import { startServer } from "../../framework/servers.js";
import type { Scenario } from "../scenario.js";

/** One layer: a name, and one getSecret through it. */
type Layer = [string, () => Promise<unknown>];

/**
 * Builds the layers over the tree at `srcRoot`, against the server at `url`.
 * @param srcRoot - the src/ directory whose client is measured
 * @param url - the fixed server
 * @returns the layers, and what closes their connections
 */
async function layersOf(srcRoot: string, url: string): Promise<{ layers: Layer[]; close(): void }> {
  const { SecretClient } = (await import(
    pathToFileURL(path.join(srcRoot, "index.ts")).href
  )) as typeof import("../../../src/index.js");
  // src/pipeline/ since issue #25; src/http/ in older trees.
  const leanFolder = existsSync(path.join(srcRoot, "pipeline", "keyVaultHttpClient.ts"))
    ? "pipeline"
    : "http";
  const { createKeyVaultHttpClient } = (await import(
    pathToFileURL(path.join(srcRoot, leanFolder, "keyVaultHttpClient.ts")).href
  )) as {
    createKeyVaultHttpClient: (fallback: HttpClient, agentFor?: () => HttpAgent) => HttpClient;
  };
  const raw = createRawContender(url);
  const client = new SecretClient(url, benchCredential(), { ...clientOptions });
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

  const layers: Layer[] = [
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
  return {
    layers,
    close: () => {
      client.close();
      leanAgent.destroy();
      raw.close();
    },
  };
}

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

const repoSrc = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "src");

export const layersScenario: Scenario = {
  name: "layers",
  summary: "getSecret over real sockets, layer by layer (client CPU per operation, c=16)",
  byDefault: false,
  flags: { src: { about: "the src/ directory to measure (default: this tree's)" } },
  run: async (context) => {
    const srcRoot = path.resolve(context.options.flags.src ?? repoSrc);
    const rounds = context.options.quick ? 3 : 5;
    const roundMs = context.options.quick ? 500 : 1000;
    const server = await startServer(context.compiled(), "fixed", {
      secrets: 0,
      getSecret: true,
      https: false,
    });
    try {
      const { layers, close } = await layersOf(srcRoot, server.url);
      process.stdout.write(`layers of getSecret x${rounds} rounds ...\n`);
      const samples = await takeTurns(
        layers,
        { measured: rounds, unmeasured: 1 },
        ([, operation], turn) => cpuPerOp(operation, turn < 0 ? 500 : roundMs),
      );
      close();
      process.stdout.write(
        `src: ${path.relative(process.cwd(), srcRoot)}\n| layer | CPU µs/op (median of ${rounds}) |\n|---|---|\n`,
      );
      for (const [[name], values] of samples) {
        process.stdout.write(`| ${name} | ${median(values).toFixed(1)} |\n`);
      }
    } finally {
      await server.stop();
    }
  },
};
