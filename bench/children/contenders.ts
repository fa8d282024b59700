/**
 * The three contenders behind one shape: our client, `@azure/keyvault-secrets` (same credential,
 * same options) and a raw `node:http`/`node:https` keep-alive loop that makes the same requests and
 * parses the JSON (the floor for any client).
 */
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import {
  benchApiVersion,
  benchToken,
  getSecretName,
  setSecretName,
  setSecretValue,
  type ContenderName,
} from "../framework/fixtures.js";

/** One contender, ready to run operations against one vault URL. */
export interface Contender {
  /** Reads the get scenario's secret; resolves to its value. */
  get(): Promise<string | undefined>;
  /** Writes a new version of the set scenario's secret; resolves to the new version's value. */
  set(): Promise<string | undefined>;
  /** Lists every secret of the vault; resolves to the number of items seen. */
  list(): Promise<number>;
  /** Releases connections. */
  close(): void;
}

/** A credential whose token never needs refreshing within a benchmark. */
export function benchCredential(): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => ({
      token: benchToken,
      expiresOnTimestamp: Date.now() + 24 * 3600 * 1000,
    }),
  };
}

/** The options both clients get: the local vault and the fixed server speak http to loopback. */
export const clientOptions = {
  allowInsecureConnection: true,
  disableChallengeResourceVerification: true,
} as const;

/** The shape both SecretClients share, as far as the benchmark uses it. */
interface SecretClientLike {
  getSecret(name: string): Promise<{ value?: string }>;
  setSecret(name: string, value: string): Promise<{ value?: string }>;
  listPropertiesOfSecrets(): AsyncIterable<unknown>;
}

function fromClient(client: SecretClientLike, close: () => void): Contender {
  return {
    get: async () => (await client.getSecret(getSecretName)).value,
    set: async () => (await client.setSecret(setSecretName, setSecretValue)).value,
    list: async () => {
      let count = 0;
      for await (const item of client.listPropertiesOfSecrets()) {
        if (item !== undefined) count++;
      }
      return count;
    },
    close,
  };
}

/**
 * Creates a contender. Modules are imported here, not at the top, so that a child process loads
 * only its own contender's code.
 *
 * @param name - which contender
 * @param vaultUrl - the vault (or fixed server) URL
 * @param ourModule - the module specifier of our client's compiled entry point
 * @returns the contender
 */
export async function createContender(
  name: ContenderName,
  vaultUrl: string,
  ourModule: string,
): Promise<Contender> {
  if (name === "ours") {
    const { SecretClient } = (await import(ourModule)) as typeof import("../../src/index.js");
    const client = new SecretClient(vaultUrl, benchCredential(), { ...clientOptions });
    return fromClient(client, () => client.close());
  }
  if (name === "official") {
    const { SecretClient } = await import("@azure/keyvault-secrets");
    const client = new SecretClient(vaultUrl, benchCredential(), { ...clientOptions });
    // The official client has no close(); its connections end with the process.
    return fromClient(client, () => undefined);
  }
  return createRawContender(vaultUrl);
}

interface RawResponse {
  status: number;
  text: string;
}

/** The floor: one keep-alive agent, the same requests, JSON parsed, nothing else. */
export function createRawContender(vaultUrl: string): Contender {
  const url = new URL(vaultUrl);
  const https = url.protocol === "https:";
  const agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = https ? httpsRequest : httpRequest;
  const authorization = `Bearer ${benchToken}`;
  const query = `?api-version=${benchApiVersion}`;

  const once = (method: string, path: string, body?: string): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {
        accept: "application/json",
        authorization,
      };
      if (body !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(body);
      }
      const req = send(
        { host: url.hostname, port: url.port, path, method, agent, headers },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
          );
        },
      );
      req.on("error", (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed while idle: resend once, as Node's docs advise.
        if (req.reusedSocket && error.code === "ECONNRESET") {
          once(method, path, body).then(resolve, reject);
        } else {
          reject(error);
        }
      });
      req.end(body);
    });

  const json = async (method: string, path: string, body?: string): Promise<unknown> => {
    const response = await once(method, path, body);
    if (response.status !== 200) {
      throw new Error(`${method} ${path} answered ${response.status}.`);
    }
    return JSON.parse(response.text) as unknown;
  };

  return {
    get: async () => {
      const bundle = (await json("GET", `/secrets/${getSecretName}/${query}`)) as {
        value?: string;
      };
      return bundle.value;
    },
    set: async () => {
      const bundle = (await json(
        "PUT",
        `/secrets/${setSecretName}${query}`,
        JSON.stringify({ value: setSecretValue }),
      )) as { value?: string };
      return bundle.value;
    },
    list: async () => {
      let count = 0;
      let path: string | undefined = `/secrets${query}`;
      // Bounded: a listing of the benchmark's size never has more than a few hundred pages.
      for (let pages = 0; path !== undefined && pages < 100_000; pages++) {
        const page = (await json("GET", path)) as { value?: unknown[]; nextLink?: string | null };
        count += page.value?.length ?? 0;
        if (page.nextLink) {
          const next = new URL(page.nextLink);
          path = next.pathname + next.search;
        } else {
          path = undefined;
        }
      }
      return count;
    },
    close: () => agent.destroy(),
  };
}
