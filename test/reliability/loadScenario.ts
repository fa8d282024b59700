/**
 * Load on the local vault: concurrent clients doing mixed operations, every acknowledged version
 * tracked and compared with what the vault lists afterwards. Shared by the load spec and the soak.
 */
import { isRestError, type SecretClient } from "../../src/index.js";
import type { LocalVault } from "../../src/emulator/index.js";
import { seededRandom } from "../helpers/testKit.js";
import { collect, loopbackClient, rssMiB, uniqueName } from "./reliabilityKit.js";

/** The figures of one load run. */
export interface LoadFigures {
  clients: number;
  operations: number;
  byKind: Record<string, number>;
  /** Acknowledged versions the vault no longer lists. */
  lostVersions: number;
  /** Listed versions no set acknowledged. */
  phantomVersions: number;
  /** A get of a client's own secret that did not return the value it last set. */
  staleReads: number;
  /** 5xx answers seen on the wire (the vault injects none here). */
  serverErrors: number;
  /** Operations that failed, with the first few messages. */
  failures: number;
  failureSamples: string[];
  rssBeforeMiB: number;
  rssAfterMiB: number;
  elapsedMs: number;
}

/** Operations after which a client moves on to fresh names. */
const namesEpoch = 500;

/**
 * Runs `clients` clients, each doing `operationsPerClient` operations, against the vault.
 * @param vault - a local vault without faults
 * @param clients - concurrent clients
 * @param operationsPerClient - operations each
 * @param seed - the operation mix
 * @param deadline - `Date.now()` after which the clients stop early (the figures say how far they got)
 * @returns the figures
 */
export async function runLoad(
  vault: LocalVault,
  clients: number,
  operationsPerClient: number,
  seed = 1,
  deadline = Infinity,
): Promise<LoadFigures> {
  const rssBeforeMiB = rssMiB();
  const started = Date.now();
  const acknowledged = new Map<string, Set<string>>();
  const byKind: Record<string, number> = {};
  const failureSamples: string[] = [];
  let failures = 0;
  let staleReads = 0;
  let serverErrors = 0;
  const sharedBase = uniqueName("load-shared");
  const acknowledge = (name: string, version: string | undefined) => {
    if (!acknowledged.has(name)) acknowledged.set(name, new Set());
    acknowledged.get(name)!.add(version ?? "(none)");
  };

  const worker = async (index: number): Promise<void> => {
    const client: SecretClient = loopbackClient(vault.vaultUrl, vault.credential, {
      retryOptions: { retryDelayInMs: 1, maxRetryDelayInMs: 8 },
      additionalPolicies: [
        {
          position: "perRetry",
          policy: {
            name: "countServerErrors",
            async sendRequest(request, next) {
              const response = await next(request);
              if (response.status >= 500) serverErrors++;
              return response;
            },
          },
        },
      ],
    });
    const random = seededRandom(seed * 1000 + index);
    let own: string[] = [];
    const lastValue = new Map<string, string>();
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
    const count = (kind: string) => (byKind[kind] = (byKind[kind] ?? 0) + 1);

    for (let op = 0; op < operationsPerClient && Date.now() < deadline; op++) {
      if (op % namesEpoch === 0) {
        // Fresh names now and then keep version lists short in long runs.
        own = [0, 1, 2].map((i) => uniqueName(`load-c${index}-${i}`));
        for (const name of own) {
          const value = `${name}-initial`;
          acknowledge(name, (await client.setSecret(name, value)).properties.version);
          lastValue.set(name, value);
        }
      }
      const shared = `${sharedBase}-${Math.floor(op / namesEpoch)}`;
      const roll = random();
      const name = pick(own);
      try {
        if (roll < 0.3) {
          count("set");
          const value = `${name}-${op}`;
          acknowledge(name, (await client.setSecret(name, value)).properties.version);
          lastValue.set(name, value);
        } else if (roll < 0.4) {
          count("set shared");
          acknowledge(
            shared,
            (await client.setSecret(shared, `s-${index}-${op}`)).properties.version,
          );
        } else if (roll < 0.6) {
          count("get");
          if ((await client.getSecret(name)).value !== lastValue.get(name)) staleReads++;
        } else if (roll < 0.65) {
          count("get shared");
          if (acknowledged.has(shared)) await client.getSecret(shared);
        } else if (roll < 0.75) {
          count("update");
          await client.updateSecretProperties(name, "", { tags: { op: String(op) } });
        } else if (roll < 0.85) {
          count("list versions");
          await collect(client.listPropertiesOfSecretVersions(name));
        } else if (roll < 0.92) {
          count("list");
          const pages = client.listPropertiesOfSecrets().byPage({ maxPageSize: 25 });
          await pages.next();
        } else {
          count("delete+recover");
          await (await client.beginDeleteSecret(name, { intervalInMs: 1 })).pollUntilDone();
          await (await client.beginRecoverDeletedSecret(name, { intervalInMs: 1 })).pollUntilDone();
        }
      } catch (error) {
        failures++;
        if (failureSamples.length < 5) {
          failureSamples.push(
            `${isRestError(error) ? `${error.statusCode} ${error.code}` : ""} ${String(error)}`,
          );
        }
      }
    }
    client.close();
  };

  await Promise.all(Array.from({ length: clients }, (_, i) => worker(i)));

  // Compare every acknowledged version with what the vault lists.
  const checker = loopbackClient(vault.vaultUrl, vault.credential);
  let lostVersions = 0;
  let phantomVersions = 0;
  for (const [name, versions] of acknowledged) {
    const listed = new Set(
      (await collect(checker.listPropertiesOfSecretVersions(name))).map((v) => v.version!),
    );
    for (const version of versions) if (!listed.has(version)) lostVersions++;
    for (const version of listed) if (!versions.has(version)) phantomVersions++;
  }
  checker.close();
  const operations = Object.values(byKind).reduce((sum, n) => sum + n, 0);
  return {
    clients,
    operations,
    byKind,
    lostVersions,
    phantomVersions,
    staleReads,
    serverErrors,
    failures,
    failureSamples,
    rssBeforeMiB,
    rssAfterMiB: rssMiB(),
    elapsedMs: Date.now() - started,
  };
}
