/**
 * The client scenario micro: one getSecret, piece by piece, in this process and without sockets:
 * where the client's CPU goes above Node's HTTP. The HTTP client is a stand-in that answers like
 * `children/fixedServer.ts` (401 challenge without a token, then the canned bundle), so every
 * figure is our code plus core's, never the network.
 *
 * `npm run bench -- --micro [--iterations N]`. CPU time per operation (process.cpuUsage), median
 * of 5 runs, each after a warm-up; read the relative sizes, not the absolute figures, on a shared
 * machine.
 */
import {
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import { createTracingClient } from "@azure/core-tracing";
import { toKeyVaultSecret } from "../../../src/api/mapping.js";
import { parseKeyVaultSecretIdentifier } from "../../../src/identifier.js";
import { SecretClient } from "../../../src/index.js";
import { benchApiVersion, getSecretName, getSecretValue } from "../../framework/fixtures.js";
import { median } from "../../framework/measure.js";
import type { Scenario } from "../scenario.js";

const vaultUrl = "http://127.0.0.1:8443";
const secretVersion = "0123456789abcdef0123456789abcdef";
const bundleText = JSON.stringify({
  value: getSecretValue,
  id: `${vaultUrl}/secrets/${getSecretName}/${secretVersion}`,
  attributes: {
    enabled: true,
    created: 1_700_000_000,
    updated: 1_700_000_000,
    recoveryLevel: "Recoverable+Purgeable",
    recoverableDays: 90,
  },
  tags: { env: "bench" },
});
const challenge =
  'Bearer authorization="https://login.windows.net/00000000-0000-0000-0000-000000000000", ' +
  'resource="https://vault.azure.net"';
const responseHeaders = {
  "content-type": "application/json; charset=utf-8",
  "content-length": String(Buffer.byteLength(bundleText)),
  "cache-control": "no-cache",
  "x-ms-request-id": "00000000-0000-0000-0000-000000000001",
  "x-ms-keyvault-service-version": "1.9.0.0",
};

/** Answers like the fixed server, without a socket. */
const fakeHttpClient: HttpClient = {
  sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    if (!request.headers.has("authorization")) {
      return Promise.resolve({
        request,
        status: 401,
        headers: createHttpHeaders({ "www-authenticate": challenge }),
        bodyAsText: '{"error":{"code":"Unauthorized","message":"no token"}}',
      });
    }
    return Promise.resolve({
      request,
      status: 200,
      headers: createHttpHeaders(responseHeaders),
      bodyAsText: bundleText,
    });
  },
};

const credential = {
  getToken: () =>
    Promise.resolve({ token: "bench-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** One measured piece: `run` does one operation. */
interface Piece {
  name: string;
  run: () => unknown;
}

/** CPU µs per operation of `run`, median of `runs` runs of `iterations` after a warm-up. */
async function measure(piece: Piece, iterations: number, runs = 5): Promise<number> {
  const once = async (count: number): Promise<number> => {
    const start = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      const result = piece.run();
      if (result instanceof Promise) await result;
    }
    const used = process.cpuUsage(start);
    return (used.user + used.system) / count;
  };
  await once(Math.max(100, iterations / 5));
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) samples.push(await once(iterations));
  return median(samples);
}

/** A pipeline holding only `policy` (or none), in front of the stand-in client. */
function onePolicyPipeline(policy?: PipelinePolicy): Pipeline {
  const pipeline = createEmptyPipeline();
  if (policy) pipeline.addPolicy(policy);
  return pipeline;
}

function newRequest(): PipelineRequest {
  const headers = createHttpHeaders();
  headers.set("accept", "application/json");
  headers.set("authorization", "Bearer bench-token");
  return createPipelineRequest({
    url: `${vaultUrl}/secrets/${getSecretName}/?api-version=${benchApiVersion}`,
    method: "GET",
    headers,
    allowInsecureConnection: true,
  });
}

/** Measures every piece and returns rows of [piece, µs/op]. */
async function runMicro(iterations: number): Promise<Array<[string, number]>> {
  const client = new SecretClient(vaultUrl, credential, {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
    httpClient: fakeHttpClient,
  });
  await client.getSecret(getSecretName);
  const pipeline = (Reflect.get(client, "clientPipeline") as { pipeline: Pipeline } | undefined)
    ?.pipeline;
  const policies = pipeline?.getOrderedPolicies() ?? [];
  const tracing = createTracingClient({
    namespace: "Microsoft.KeyVault",
    packageName: "bench",
    packageVersion: "0",
  });
  const parsedBundle: unknown = JSON.parse(bundleText);
  const bundleId = `${vaultUrl}/secrets/${getSecretName}/${secretVersion}`;
  const empty = onePolicyPipeline();

  const pieces: Piece[] = [
    { name: "getSecret, whole client above HTTP", run: () => client.getSecret(getSecretName) },
    {
      name: "pipeline.sendRequest (every policy)",
      run: () => pipeline!.sendRequest(fakeHttpClient, newRequest()),
    },
    {
      name: "empty pipeline (baseline of the rows below)",
      run: () => empty.sendRequest(fakeHttpClient, newRequest()),
    },
    ...policies.map((policy) => {
      const single = onePolicyPipeline(policy);
      return {
        name: `  policy ${policy.name}`,
        run: () => single.sendRequest(fakeHttpClient, newRequest()),
      };
    }),
    {
      name: "client span (core-tracing withSpan, no instrumenter)",
      run: () => tracing.withSpan("SecretClient.getSecret", {}, () => Promise.resolve(1)),
    },
    { name: "request: createPipelineRequest + headers", run: newRequest },
    {
      name: "URL building (name + version + api-version)",
      run: () =>
        `${vaultUrl}/secrets/${encodeURIComponent(getSecretName)}/${encodeURIComponent("")}?api-version=${encodeURIComponent(benchApiVersion)}`,
    },
    {
      name: "response headers: createHttpHeaders(raw)",
      run: () => createHttpHeaders(responseHeaders),
    },
    { name: "JSON.parse of the bundle", run: () => JSON.parse(bundleText) },
    {
      name: "id parse (parseKeyVaultSecretIdentifier)",
      run: () => parseKeyVaultSecretIdentifier(bundleId),
    },
    {
      name: "mapping (toKeyVaultSecret, id parse included)",
      run: () => toKeyVaultSecret(parsedBundle),
    },
  ];
  const rows: Array<[string, number]> = [];
  for (const piece of pieces) {
    rows.push([piece.name, await measure(piece, iterations)]);
  }
  client.close();
  return rows;
}

/** The rows as a Markdown table. */
function microTable(rows: Array<[string, number]>): string {
  const lines = ["| piece | CPU µs/op |", "|---|---|"];
  for (const [name, us] of rows) lines.push(`| ${name.trim()} | ${us.toFixed(2)} |`);
  return lines.join("\n");
}

export const microScenario: Scenario<"iterations"> = {
  name: "micro",
  summary: "one getSecret, piece by piece, no sockets (CPU µs per operation)",
  byDefault: false,
  counts: { iterations: { about: "operations per measured run", full: 20_000, quick: 5_000 } },
  run: async (_context, { iterations }) => {
    process.stdout.write(microTable(await runMicro(iterations)) + "\n");
  },
};
