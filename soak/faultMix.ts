/**
 * The fault mix of the soak: every fault class in turn, for a fixed time, against a scripted
 * server and the local vault. Each attempt ends as "recovered" (the operation succeeded), "clean
 * error" (it failed with an error that names the problem, where the fault allows no success) or
 * "wrong" (a crash, an accidental error, a failure where a retry should have recovered, or a
 * lost or duplicated write).
 */
import type { SecretClient } from "../src/index.js";
import type { LocalVault } from "../src/emulator/index.js";
import {
  collect,
  json,
  loopbackClient,
  newVersion,
  startScriptedServer,
  uniqueName,
  unexpectedErrorReason,
  vaultError,
  type ScriptedAction,
  type ScriptedServer,
} from "../test/reliability/reliabilityKit.js";
import { closedPort } from "../test/helpers/testKit.js";
import { fixedTokenCredential, type FixedTokenCredential } from "../test/helpers/fakeCredential.js";

/** What happened to one fault class. */
export interface FaultClassFigures {
  injected: number;
  recovered: number;
  cleanError: number;
  wrong: number;
  /** The first wrong outcome, if any. */
  example?: string;
}

type Outcome = "recovered" | "clean error" | string;

interface FaultClass {
  name: string;
  /** Runs one attempt; returns "recovered", "clean error", or what went wrong. */
  run(): Promise<Outcome>;
}

/** The values and tokens the mix used, for the log scan. */
export interface FaultMixSecrets {
  values: string[];
  credential: FixedTokenCredential;
}

/**
 * Runs the mix until `durationMs` has passed.
 * @param vault - a local vault (its faults are changed and reset)
 * @param durationMs - how long to run
 * @returns the figures per class and the secrets used
 */
export async function runFaultMix(
  vault: LocalVault,
  durationMs: number,
): Promise<{ figures: Map<string, FaultClassFigures>; secrets: FaultMixSecrets }> {
  const credential = fixedTokenCredential();
  const value = `fault-mix-value-${newVersion()}`;
  const server: ScriptedServer = await startScriptedServer(() => ({ status: 500 }));
  const clients: SecretClient[] = [];
  const client = (url = server.url, retryDelayInMs = 1): SecretClient => {
    const created = loopbackClient(url, credential, {
      retryOptions: { retryDelayInMs, maxRetryDelayInMs: 10, maxRetries: 3 },
    });
    clients.push(created);
    return created;
  };
  const scripted = (...answers: ScriptedAction[]) =>
    server.reset((_request, attempt) => answers[Math.min(attempt, answers.length - 1)]!);
  const bundle = () =>
    json(200, { value, id: `${server.url}/secrets/s/${newVersion()}`, attributes: {} });

  /** Success expected: the fault is transient and within the retries. */
  const mustRecover = async (operation: Promise<unknown>): Promise<Outcome> => {
    try {
      await operation;
    } catch (error) {
      return `failed: ${String(error)}`;
    }
    const bodies = server.authorized().map((r) => r.body);
    if (bodies.some((body) => body !== bodies[0])) return "the body changed between attempts";
    return "recovered";
  };
  /** A named error expected. */
  const mustFailCleanly = async (operation: Promise<unknown>, names: RegExp): Promise<Outcome> => {
    try {
      await operation;
      return "succeeded where it cannot";
    } catch (error) {
      const reason = unexpectedErrorReason(error);
      if (reason !== undefined) return reason;
      const text = `${(error as Error).name} ${(error as { code?: string }).code} ${(error as Error).message}`;
      return names.test(text) ? "clean error" : `an error that does not name the cause: ${text}`;
    }
  };

  const classes: FaultClass[] = [
    {
      name: "429 without Retry-After",
      run: () => {
        scripted(vaultError(429, "Throttled", "too many"), bundle());
        return mustRecover(client().setSecret("s", value));
      },
    },
    {
      name: "429 with Retry-After: 0",
      run: () => {
        scripted(
          { ...vaultError(429, "Throttled", "x"), headers: { "Retry-After": "0" } },
          bundle(),
        );
        return mustRecover(client(server.url, 5000).setSecret("s", value));
      },
    },
    {
      name: "500",
      run: () => {
        scripted(vaultError(500, "InternalServerError", "boom"), bundle());
        return mustRecover(client().setSecret("s", value));
      },
    },
    {
      name: "503",
      run: () => {
        scripted(vaultError(503, "ServiceUnavailable", "busy"), bundle());
        return mustRecover(client().setSecret("s", value));
      },
    },
    {
      name: "connection dropped",
      run: () => {
        scripted({ drop: true }, bundle());
        return mustRecover(client().setSecret("s", value));
      },
    },
    {
      name: "reset mid-response (GET)",
      run: () => {
        scripted({ reset: true, partialBody: '{"value":"x' }, bundle());
        return mustRecover(client().getSecret("s"));
      },
    },
    {
      name: "never answers (timeout)",
      run: () => {
        scripted({ hang: true });
        return mustFailCleanly(
          client().getSecret("s", { requestOptions: { timeout: 30 } }),
          /time(d)?[ -]?out|timeout/i,
        );
      },
    },
    {
      name: "never answers (abortSignal)",
      run: () => {
        scripted({ hang: true });
        return mustFailCleanly(
          client().getSecret("s", { abortSignal: AbortSignal.timeout(30) }),
          /AbortError/,
        );
      },
    },
    {
      name: "slow answer within timeout",
      run: () => {
        scripted({ delayMs: 20, then: bundle() });
        return mustRecover(client().getSecret("s", { requestOptions: { timeout: 2000 } }));
      },
    },
    {
      name: "unreachable host",
      run: async () => {
        const port = await closedPort();
        return mustFailCleanly(client(`http://127.0.0.1:${port}`).getSecret("s"), /ECONNREFUSED/);
      },
    },
    {
      name: "local vault 5xx + drops",
      run: async () => {
        const c = loopbackClient(vault.vaultUrl, vault.credential, {
          retryOptions: { retryDelayInMs: 1, maxRetryDelayInMs: 4, maxRetries: 12 },
        });
        clients.push(c);
        const name = uniqueName("mix");
        vault.setFaults({ errorRate: 0.3, dropRate: 0.2 });
        let version: string | undefined;
        try {
          version = (await c.setSecret(name, value)).properties.version;
        } catch (error) {
          return `failed: ${String(error)}`;
        } finally {
          vault.setFaults({});
        }
        const listed = await collect(c.listPropertiesOfSecretVersions(name));
        return listed.length === 1 && listed[0]!.version === version
          ? "recovered"
          : `${listed.length} versions for one acknowledged set`;
      },
    },
    {
      name: "local vault throttling",
      run: async () => {
        const c = loopbackClient(vault.vaultUrl, vault.credential, {
          retryOptions: { retryDelayInMs: 1, maxRetryDelayInMs: 4, maxRetries: 3 },
        });
        clients.push(c);
        vault.setFaults({ throttleLimit: 0, throttleRetryAfter: false });
        try {
          return await mustFailCleanly(c.getSecret("anything"), /429|Throttled/);
        } finally {
          vault.setFaults({});
        }
      },
    },
  ];

  const figures = new Map<string, FaultClassFigures>(
    classes.map((c) => [c.name, { injected: 0, recovered: 0, cleanError: 0, wrong: 0 }]),
  );
  const deadline = Date.now() + durationMs;
  try {
    while (Date.now() < deadline) {
      for (const faultClass of classes) {
        const entry = figures.get(faultClass.name)!;
        entry.injected++;
        let outcome: Outcome;
        try {
          outcome = await faultClass.run();
        } catch (error) {
          outcome = `the scenario threw: ${String(error)}`;
        }
        if (outcome === "recovered") entry.recovered++;
        else if (outcome === "clean error") entry.cleanError++;
        else {
          entry.wrong++;
          entry.example ??= outcome;
        }
        // Keep the number of open clients small.
        while (clients.length > 0) clients.pop()!.close();
      }
    }
  } finally {
    await server.close();
  }
  return { figures, secrets: { values: [value], credential } };
}
