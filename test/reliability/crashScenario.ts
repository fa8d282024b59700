/**
 * Crashes of a local vault that keeps its state in a directory: a child process runs the vault,
 * writers set secrets as fast as they can, the child is killed with SIGKILL while writes are in
 * flight, and a new vault on the same directory must hold every acknowledged version with its
 * value, and nothing that was never sent. Shared by the load spec and the soak.
 */
import type { ChildProcess } from "node:child_process";
import { performance } from "node:perf_hooks";
import { SecretClient } from "../../src/index.js";
import { fixedTokenCredential } from "../helpers/fakeCredential.js";
import { collect, firstJsonLine, loopbackClientOptions, spawnScript } from "./reliabilityKit.js";

/** The figures of a series of crashes. */
export interface CrashFigures {
  rounds: number;
  /** Writes answered 200 before the kill. */
  acknowledged: number;
  /** Writes in flight when the vault was killed. */
  inFlightAtKill: number;
  /** In-flight writes found after the restart (durable, but their 200 never arrived). */
  presentUnacknowledged: number;
  /** Acknowledged writes missing, or with another value, after a restart. */
  lost: number;
  /** Versions whose value no writer sent for that name. */
  malformed: number;
  /** Failures of writes while the vault was up. */
  unexpectedFailures: string[];
  /** Milliseconds from spawn to listening, per start. */
  startMs: number[];
}

interface Write {
  name: string;
  value: string;
  version?: string;
}

const fixture = "test/reliability/fixtures/vaultProcess.ts";

async function startVaultProcess(
  location: string,
): Promise<{ child: ChildProcess; vaultUrl: string; ms: number }> {
  const started = performance.now();
  const child = spawnScript(fixture, [location]);
  const { vaultUrl } = await firstJsonLine<{ vaultUrl: string }>(child);
  return { child, vaultUrl, ms: Math.round(performance.now() - started) };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once("exit", () => done()));
}

function client(vaultUrl: string): SecretClient {
  return new SecretClient(vaultUrl, fixedTokenCredential(), {
    ...loopbackClientOptions,
    // A write either lands in one attempt or fails: a retry would blur what was acknowledged.
    retryOptions: { maxRetries: 0 },
  });
}

/**
 * Runs `rounds` crash rounds on one directory, then restarts once more and checks.
 * @param location - the vault's directory (empty or from earlier rounds)
 * @param rounds - kills
 * @param writesPerRound - acknowledged writes before each kill
 * @param writers - concurrent writers
 * @returns the figures
 */
export async function runCrashRounds(
  location: string,
  rounds: number,
  writesPerRound: number,
  writers = 8,
): Promise<CrashFigures> {
  const sent = new Map<string, Write>();
  const acknowledged: Write[] = [];
  const names = new Set<string>();
  const figures: CrashFigures = {
    rounds,
    acknowledged: 0,
    inFlightAtKill: 0,
    presentUnacknowledged: 0,
    lost: 0,
    malformed: 0,
    unexpectedFailures: [],
    startMs: [],
  };
  const seenUnacknowledged = new Set<string>();

  const verify = async (vaultUrl: string): Promise<void> => {
    const checker = client(vaultUrl);
    try {
      for (const write of acknowledged) {
        const found = await checker.getSecret(write.name, { version: write.version }).then(
          (secret) => secret.value,
          () => undefined,
        );
        if (found !== write.value) figures.lost++;
      }
      for (const name of names) {
        const versions = await collect(checker.listPropertiesOfSecretVersions(name));
        for (const { version } of versions) {
          const value = (await checker.getSecret(name, { version })).value ?? "";
          const write = sent.get(value);
          if (write === undefined || write.name !== name) figures.malformed++;
          else if (write.version === undefined && !seenUnacknowledged.has(value)) {
            seenUnacknowledged.add(value);
            figures.presentUnacknowledged++;
          }
        }
      }
    } finally {
      checker.close();
    }
  };

  for (let round = 0; round < rounds; round++) {
    const { child, vaultUrl, ms } = await startVaultProcess(location);
    figures.startMs.push(ms);
    await verify(vaultUrl);
    const writer = client(vaultUrl);
    let acknowledgedThisRound = 0;
    let inFlight = 0;
    let killed = false;
    const kill = (): void => {
      if (killed) return;
      killed = true;
      figures.inFlightAtKill += inFlight;
      child.kill("SIGKILL");
    };
    const write = async (w: number): Promise<void> => {
      for (let seq = 0; !killed; seq++) {
        const entry: Write = { name: `crash-w${w}-${seq % 4}`, value: `r${round}-w${w}-${seq}` };
        names.add(entry.name);
        sent.set(entry.value, entry);
        inFlight++;
        try {
          const secret = await writer.setSecret(entry.name, entry.value);
          entry.version = secret.properties.version;
          acknowledged.push(entry);
          if (++acknowledgedThisRound >= writesPerRound) kill();
        } catch (error) {
          if (!killed) figures.unexpectedFailures.push(String(error));
          if (!killed) kill();
        } finally {
          inFlight--;
        }
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, w) => write(w)));
    writer.close();
    await exited(child);
  }
  const { child, vaultUrl, ms } = await startVaultProcess(location);
  figures.startMs.push(ms);
  try {
    await verify(vaultUrl);
  } finally {
    child.kill("SIGTERM");
    await exited(child);
  }
  figures.acknowledged = acknowledged.length;
  return figures;
}
