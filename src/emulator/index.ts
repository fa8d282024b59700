/**
 * The local vault: a faithful, in-process emulator of the Key Vault secrets REST API for
 * development and tests, started with {@link startLocalVault} (the same vault the
 * `keyvault-emulator` command runs). It answers as the service does (statuses, error codes,
 * messages, bodies), issues tokens through its managed identity endpoint, and keeps its state in
 * memory or in a directory.
 *
 * @packageDocumentation
 * @module keyvault-secrets/emulator
 */
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { TokenCredential } from "@azure/core-auth";
import { VaultAuth } from "./http/auth.js";
import { capConnections } from "./http/connectionCap.js";
import { FaultInjector } from "./http/faults.js";
import { DurableStore } from "./state/durableStore.js";
import { HostPolicy } from "./http/hosts.js";
import type { VaultServerContext } from "./context.js";
import { createRequestListener } from "./http/listener.js";
import {
  checkLocalVaultOptions,
  type LocalVaultFaultOptions,
  type LocalVaultOptions,
} from "./options.js";
import { openJournal, type Journal, type JournalRecord } from "./persistence/persistence.js";
import { WireRenderer } from "./wire/render.js";
import { readStateFile, writeStateFile } from "./persistence/stateFile.js";
import { SecretStore } from "./state/store.js";
import { VaultEvents } from "./events/vaultEvents.js";
import type { StoreRecord } from "./state/storeTypes.js";
import { VaultClock, clockShiftProblem } from "./state/vaultClock.js";
import { reuseOrGenerateCertificate, type SavedCertificate } from "./tls/tls.js";
import { healthPath } from "./routes/health.js";
import { createPageRoutes, pagePath } from "./page/pageRoutes.js";
import { createPageView } from "./page/pageView.js";
import { RequestLog, recordRequests } from "./http/requestLog.js";
import type { SeedVersion } from "./state/seed.js";

export type { LocalVaultOptions, LocalVaultFaultOptions } from "./options.js";
export type { LocalVaultEventOptions, LocalVaultEventSubscription } from "./events/eventOptions.js";
export type { LocalVaultSeed, LocalVaultSeedSecret } from "./state/seed.js";

/** A running local vault. */
export interface LocalVault {
  /** URL of the vault, e.g. `http://127.0.0.1:54321` (no trailing slash). */
  vaultUrl: string;
  /** A credential whose tokens this vault accepts (also under `strictAuth`), minted in-process. */
  credential: TokenCredential;
  /** Managed identity endpoint (App Service protocol), for `IDENTITY_ENDPOINT`. */
  identityEndpoint: string;
  /** Secret the identity endpoint expects in `x-identity-header`, for `IDENTITY_HEADER`. */
  identityHeader: string;
  /** PEM of the generated CA, when started with `https: true`. */
  caCertificate?: string;
  /**
   * Mints a link to the vault's page (secrets, versions, deleted secrets and a live log of the
   * requests answered). Each link opens the page once, in one browser tab: it is exchanged for a
   * session that needs both an HttpOnly, SameSite=Strict cookie and a key the tab keeps, and ends
   * after 30 minutes without a request from the page.
   * @returns `{vaultUrl}/__local/page?token=...`
   * @example
   * ```ts
   * const vault = await startLocalVault();
   * console.log(`Look inside: ${vault.pageUrl()}`);
   * ```
   */
  pageUrl(): string;
  /** Forgets every secret, active and deleted. */
  reset(): void;
  /**
   * Shifts the vault's clock forward (retention, scheduled purge, created/updated stamps,
   * completion of delete and recover).
   * @param ms - milliseconds to add
   */
  advanceClock(ms: number): void;
  /**
   * Replaces the fault settings.
   * @param faults - the new settings (an empty object turns every fault off)
   */
  setFaults(faults: LocalVaultFaultOptions): void;
  /**
   * Stops listening, closes open connections and closes the journal.
   * @returns a promise that resolves once everything is closed
   */
  close(): Promise<void>;
}

/** What the vault keeps under `location` apart from the journal (the state file, 0600). */
interface VaultKeys {
  backupKey: string;
  signingKey: string;
  identityHeader: string;
  /** The generated certificates, so a trusted CA stays trusted across restarts. */
  tls?: SavedCertificate;
}

function newKeys(): VaultKeys {
  return {
    backupKey: randomBytes(32).toString("base64"),
    signingKey: randomBytes(32).toString("base64"),
    identityHeader: randomBytes(16).toString("hex"),
  };
}

function isVaultKeys(value: unknown): value is VaultKeys {
  const keys = value as Partial<VaultKeys> | null;
  return (
    typeof keys === "object" &&
    keys !== null &&
    typeof keys.backupKey === "string" &&
    typeof keys.signingKey === "string" &&
    typeof keys.identityHeader === "string"
  );
}

/**
 * Starts a local vault.
 * @param options - where to listen and how the vault behaves
 * @returns the running vault
 * @throws RangeError for options outside their range
 * @example
 * The quick start (an ES module: top-level `await`):
 * ```ts
 * import { SecretClient } from "keyvault-secrets";
 * import { startLocalVault } from "keyvault-secrets/emulator";
 *
 * // A local vault on a free port; against Azure, see "Using a real vault" in the README.
 * const vault = await startLocalVault();
 * const client = new SecretClient(vault.vaultUrl, vault.credential, {
 *   allowInsecureConnection: true, // the local vault speaks http on localhost
 *   disableChallengeResourceVerification: true, // its challenge names https://vault.azure.net
 * });
 *
 * await client.setSecret("db-password", "s3cr3t", { contentType: "text/plain" });
 * const secret = await client.getSecret("db-password");
 * console.log(secret.name, secret.properties.version, secret.value?.length);
 *
 * await vault.close();
 * ```
 */
export async function startLocalVault(options: LocalVaultOptions = {}): Promise<LocalVault> {
  const checked = checkLocalVaultOptions(options);
  const settings = {
    recoveryLevel: checked.recoveryLevel,
    recoverableDays: checked.recoverableDays,
    delayMs: checked.delayMs,
    restoreConflictAfterPurgeInMs: checked.restoreConflictAfterPurgeInMs,
  };
  // Checked before anything is opened: a bad seed fails the start without side effects.
  // Loaded only when asked for: a vault without a seed does not load the seed code.
  const seeding = options.seed === undefined ? undefined : await import("./state/seed.js");
  let seed: SeedVersion[] | undefined;
  if (typeof options.seed === "string") seed = seeding?.readSeedFile(options.seed);
  else if (options.seed !== undefined) seed = seeding?.checkSeed(options.seed, "The seed option");
  const faults = new FaultInjector(options.faults);

  const journal: Journal | undefined =
    options.location === undefined ? undefined : await openJournal(options.location);
  try {
    let keys = newKeys();
    let keysChanged = journal !== undefined;
    if (journal !== undefined) {
      const saved = await readStateFile(journal.directory);
      if (saved !== undefined) {
        if (!isVaultKeys(saved)) {
          throw new Error(
            `The local vault's state file in ${journal.directory} lacks its keys. Restore it from ` +
              `a copy or remove it (the vault then makes new keys).`,
          );
        }
        keys = saved;
        keysChanged = false;
      }
    }
    const backupKey = checked.backupKey ?? Buffer.from(keys.backupKey, "base64");

    const accepted = new SecretStore(settings, new VaultClock());
    const store =
      journal === undefined
        ? new DurableStore(accepted)
        : new DurableStore(accepted, new SecretStore(settings, new VaultClock()));
    for (const record of journal?.records ?? []) {
      store.replay(record as unknown as StoreRecord);
    }
    // A rewrite due at start runs behind the start (appends wait for it; close() awaits it).
    void journal?.compactFrom(() => store.snapshot() as unknown as JournalRecord[]);

    const auth = new VaultAuth({
      signingKey: Buffer.from(keys.signingKey, "base64"),
      tenantId: checked.tenantId,
      strict: checked.strictAuth,
      claimsChallenge: checked.claimsChallenge,
    });

    const pending = new Set<Promise<void>>();
    const journalWrite =
      journal === undefined
        ? undefined
        : (record: StoreRecord): Promise<void> => {
            const write = journal.append(record as unknown as JournalRecord, () =>
              store.commit(record),
            );
            pending.add(write);
            const forget = (): void => void pending.delete(write);
            write.then(forget, forget);
            return write;
          };
    // Every change goes to the events once durable (they ignore what happens before start).
    const persist = (record: StoreRecord): Promise<void> => {
      const write = journalWrite?.(record);
      if (write === undefined) {
        events.recordDurable(record);
        return Promise.resolve();
      }
      return write.then(() => events.recordDurable(record));
    };
    const change = (record: StoreRecord): Promise<void> => {
      store.apply(record);
      return persist(record);
    };
    const track = (work: Promise<void>): void => {
      // The synchronous test controls cannot report a journal failure; the next write will.
      work.catch(() => undefined);
    };
    const events = new VaultEvents(
      { ...checked.events, subscriptions: checked.eventSubscriptions },
      store,
      (notice) => track(change(notice)),
    );

    if (seeding !== undefined && seed !== undefined) await seeding.loadSeed(store, seed, persist);

    const host = checked.host;
    const scheme = options.https ? "https" : "http";
    let caCertificate: string | undefined;
    let server: Server;
    const identityHeader = checked.identityHeader ?? keys.identityHeader;
    const context: VaultServerContext = {
      store,
      render: new WireRenderer(settings),
      auth,
      faults,
      scheme,
      hosts: new HostPolicy(scheme, host, checked.hostnames),
      roleAssignmentId: randomBytes(16).toString("hex"),
      backupKey,
      emptyPages: checked.emptyPages,
      identityHeader,
      persist,
      events,
      reset: () => change({ type: "reset" }),
      advanceClock: (ms: number) => {
        const problem = clockShiftProblem(ms, store.clock.offsetMs);
        if (problem !== undefined) throw new RangeError(`advanceClock: ${problem}`);
        return change({ type: "clock", advanceMs: ms });
      },
      setFaults: (f: LocalVaultFaultOptions) => faults.set(f),
    };
    const requestLog = new RequestLog();
    const page = createPageRoutes({
      view: createPageView(store, persist),
      log: requestLog,
      scheme: context.scheme,
      nowMs: Date.now,
      deadLetters: () => events.deadLetters(),
    });
    context.page = page;
    const handler = createRequestListener(context);
    // A slow or idle client cannot hold a socket for long: Node's own defaults are minutes.
    const limits = {
      headersTimeout: checked.headersTimeoutInMs,
      requestTimeout: checked.requestTimeoutInMs,
      connectionsCheckingInterval: Math.min(1000, checked.headersTimeoutInMs),
    };
    if (options.https === true) {
      const { certificate: generated, generated: fresh } = reuseOrGenerateCertificate(keys.tls, [
        ...new Set([host, "localhost", "127.0.0.1", "::1", ...checked.hostnames]),
      ]);
      if (fresh) {
        keys.tls = generated;
        keysChanged = true;
      }
      caCertificate = generated.caCert;
      server = createHttpsServer({ ...limits, cert: generated.cert, key: generated.key }, handler);
    } else if (options.https) {
      server = createHttpsServer(
        { ...limits, cert: options.https.cert, key: options.https.key },
        handler,
      );
    } else {
      server = createHttpServer(limits, handler);
    }
    if (journal !== undefined && keysChanged) {
      await writeStateFile(journal.directory, keys);
    }
    // The page's own requests and health probes would drown what the app did.
    recordRequests(server, requestLog, (path) => path === healthPath || path.startsWith(pagePath));
    server.keepAliveTimeout = checked.keepAliveTimeoutInMs;
    server.timeout = checked.requestTimeoutInMs;
    capConnections(server, checked.maxConnections);

    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(checked.port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const vaultUrl = `${scheme}://${urlHost(host)}:${port}`;
    // Events name the vault as its clients do: by its first extra name (a compose service) if any.
    const [publicName] = checked.hostnames;
    events.start(
      publicName === undefined ? vaultUrl : `${scheme}://${urlHost(publicName)}:${port}`,
    );

    let closing: Promise<void> | undefined;
    const vault: LocalVault = {
      vaultUrl,
      credential: auth.credential(),
      identityEndpoint: `${vaultUrl}/__local/identity/token`,
      identityHeader,
      reset: () => track(context.reset()),
      advanceClock: (ms: number) => track(context.advanceClock(ms)),
      setFaults: (f: LocalVaultFaultOptions) => faults.set(f),
      pageUrl: () => `${vaultUrl}${pagePath}?token=${page.mintAccessToken()}`,
      close: () => {
        closing ??= (async () => {
          events.close();
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeAllConnections();
          await closed;
          await Promise.allSettled([...pending]);
          await journal?.close();
        })();
        return closing;
      },
    };
    if (caCertificate !== undefined) vault.caCertificate = caCertificate;
    return vault;
  } catch (error) {
    await journal?.close().catch(() => undefined);
    throw error;
  }
}

function urlHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
