/**
 * The variables behind `keyvault-secrets run` and the preload, read and kept open for watching: a
 * `SecretCache` over the vault with the chosen filters and its environment mapping, and the App
 * Service references of the environment. Opening reads everything once; each reload reads again
 * what changed, all or nothing.
 */
import type { AbortSignalLike } from "@azure/abort-controller";
import type { SecretCacheChangeDetail } from "../secretCache/changes.js";
import {
  EnvironmentKeyCollisionError,
  type EnvironmentKeyRefusal,
} from "../secretCache/environment.js";
import { SecretCacheError } from "../secretCache/errors.js";
import type { SecretCacheOptions } from "../secretCache/options.js";
import {
  clientOptionsFor,
  connectionFor,
  defaultCredentials,
  InjectError,
  type Credentials,
  type VaultConnection,
} from "./connection.js";
import type { InjectSettings } from "./loadEnvironment.js";
import { parseReferenceVaults } from "./referenceSyntax.js";
import { findReferences, KeyVaultReferenceError, ReferenceResolver } from "./references.js";
import { noVault, ReloadError, VaultSecrets, type LoadedVault } from "./vaultSecrets.js";

/** What a load produced. Keys only, except `variables`. */
export interface InjectResult {
  /** The variables to set: loaded secrets (minus those already set) and resolved references. */
  variables: Record<string, string>;
  /** The names of the secrets loaded from the vault (before mapping), sorted. */
  loaded: string[];
  /** Keys of vault secrets left alone because they were already set. */
  skipped: string[];
  /** Variables whose references were resolved. */
  references: string[];
  /** Vault secrets left out because they are expired or not yet valid, with why (names only). */
  outsideValidityPeriod: Array<{ secretName: string; reason: "expired" | "notYetValid" }>;
  /**
   * Names given in `names` that the vault lacks or holds disabled (at the start only with
   * `allowMissing`; while watching, also a named secret deleted or disabled since).
   */
  missing: string[];
  /**
   * Variables a secret's name may not choose (NODE_OPTIONS, LD_PRELOAD, PATH, ...), left out
   * because the secret was not named in `names`.
   */
  refused: EnvironmentKeyRefusal[];
}

/** How {@link EnvironmentSource.open} reads. */
export interface EnvironmentSourceOptions {
  /** Makes the credentials (once, only when something is to be read). */
  credentialsFactory?: () => Promise<Credentials>;
  /** Ends the first read (it then rejects with an AbortError). */
  abortSignal?: AbortSignalLike;
  /** Retries and throttling pauses of milliseconds instead of seconds (the test seam). */
  fastRetries?: boolean;
  /**
   * Whether the first read starts the app (`"start"`: a read that matches nothing fails the load
   * with an InjectError) or is already one of watching's reads (`"watch"`: it fails as a reload,
   * with a {@link ReloadError}, and the values in use stay).
   * @default "start"
   */
  reading?: "start" | "watch";
}

/** What a reload read: the variables, and what changed in the vaults since the last reload. */
export interface Reloaded {
  result: InjectResult;
  /** Per secret that changed, the versions and why (names and version ids only). */
  details: SecretCacheChangeDetail[];
}

/** The settings, the environment snapshot and the readers behind a source. */
interface SourceParts {
  settings: InjectSettings;
  env: Record<string, string | undefined>;
  vault: VaultSecrets | undefined;
  references: ReferenceResolver | undefined;
}

/**
 * The secrets and references an environment calls for, read once by {@link open} and again, all
 * or nothing, by {@link reload}. Whether a variable is "already set" is always judged against the
 * environment given to `open` (a copy), so that variables the source set itself never count.
 */
export class EnvironmentSource {
  /** Changes of sub-reloads that succeeded while another failed, until a reload succeeds. */
  private readonly pending = new Map<string, SecretCacheChangeDetail>();

  private constructor(
    private readonly parts: SourceParts,
    private current: InjectResult,
  ) {}

  /**
   * Reads the secrets and references the settings and environment call for. Nothing is returned
   * unless everything succeeded.
   * @param settings - what to load
   * @param env - the environment the app will see (copied, not changed)
   * @param options - credentials, abort signal, timing
   * @returns the open source; `result` holds what it read
   * @throws InjectError naming each secret or variable that failed and why; AbortError
   */
  static async open(
    settings: InjectSettings,
    env: Record<string, string | undefined>,
    options: EnvironmentSourceOptions = {},
  ): Promise<EnvironmentSource> {
    const snapshot = { ...env };
    let references;
    let vaultUrls;
    try {
      references = findReferences(snapshot);
      vaultUrls = parseReferenceVaults(
        settings.referenceVaults.text,
        settings.referenceVaults.source,
      );
    } catch (error) {
      throw asInjectError(error, 2);
    }
    const parts: SourceParts = { settings, env: snapshot, vault: undefined, references: undefined };
    if (settings.vaultUrl === undefined && references.length === 0) {
      return new EnvironmentSource(parts, compose(parts, noVault, {}));
    }
    // A vault that cannot be used safely is refused before @azure/identity is even loaded.
    if (settings.vaultUrl !== undefined) clientOptionsFor(settings.vaultUrl, snapshot);
    const credentials = await (options.credentialsFactory ?? defaultCredentials)();
    const fast = options.fastRetries === true;
    const connect = (vaultUrl: string): VaultConnection => {
      const connection = connectionFor(vaultUrl, snapshot, credentials);
      if (!fast) return connection;
      const retryOptions = { retryDelayInMs: 5, maxRetryDelayInMs: 20 };
      return { ...connection, clientOptions: { ...connection.clientOptions, retryOptions } };
    };
    const cacheOptions: SecretCacheOptions = fast
      ? { throttleDelayInMs: 5, maxThrottleDelayInMs: 20 }
      : {};
    const { abortSignal } = options;
    try {
      if (settings.vaultUrl !== undefined) {
        parts.vault = new VaultSecrets(
          settings,
          settings.vaultUrl,
          connect(settings.vaultUrl),
          cacheOptions,
        );
      }
      const [loaded, resolved] = await Promise.all([
        parts.vault?.load(abortSignal, options.reading ?? "start") ?? noVault,
        resolveReferences(references.length === 0, () => {
          parts.references = new ReferenceResolver(references, vaultUrls, connect, cacheOptions);
          return parts.references.resolve(abortSignal);
        }),
      ]);
      return new EnvironmentSource(parts, compose(parts, loaded, resolved));
    } catch (error) {
      parts.vault?.close();
      parts.references?.close();
      throw error;
    }
  }

  /**
   * What the last successful read produced.
   * @returns the result
   */
  get result(): InjectResult {
    return this.current;
  }

  /**
   * Reads again what changed: the vault's list (and the secrets whose version changed) and the
   * unversioned references. All or nothing: the result changes only when every read succeeded.
   * A secret the vault now answers as deleted, disabled or expired (or the filters drop) is no
   * longer in the result.
   * @param abortSignal - ends the reads
   * @returns the new result and what changed since the last successful reload
   * @throws ReloadError naming each secret or reference that could not be read and why; the
   *   result stays as it was. AbortError, or Error once closed
   */
  async reload(abortSignal?: AbortSignalLike): Promise<Reloaded> {
    const { vault, references } = this.parts;
    const [loaded, resolved] = await Promise.allSettled([
      vault?.refresh(abortSignal) ?? { loaded: noVault, details: [] },
      references?.refresh(abortSignal) ?? { values: {}, details: [] },
    ]);
    const failures: string[] = [];
    for (const outcome of [loaded, resolved]) {
      if (outcome.status === "fulfilled") {
        for (const detail of outcome.value.details) this.remember(detail);
      } else {
        failures.push(...failuresOf(outcome.reason));
      }
    }
    if (loaded.status === "rejected" || resolved.status === "rejected") {
      throw new ReloadError(failures);
    }
    this.current = compose(this.parts, loaded.value.loaded, resolved.value.values);
    const details = [...this.pending.values()].sort((a, b) =>
      a.secretName < b.secretName ? -1 : 1,
    );
    this.pending.clear();
    return { result: this.current, details };
  }

  /** Closes the caches and clients; reloads in flight reject. */
  close(): void {
    this.parts.vault?.close();
    this.parts.references?.close();
  }

  /** Keeps the first previous version and the latest news of a secret. */
  private remember(detail: SecretCacheChangeDetail): void {
    const key = detail.secretName.toLowerCase();
    const earlier = this.pending.get(key);
    this.pending.set(
      key,
      earlier === undefined ? detail : { ...detail, previousVersion: earlier.previousVersion },
    );
  }
}

/** Resolves references unless there are none; their errors become an InjectError. */
async function resolveReferences(
  none: boolean,
  resolve: () => Promise<Record<string, string>>,
): Promise<Record<string, string>> {
  if (none) return {};
  try {
    return await resolve();
  } catch (error) {
    throw asInjectError(error, 1);
  }
}

/**
 * The variables to set: resolved references, then the vault's secrets unless the environment
 * already sets them (and `override` is off).
 */
function compose(
  { settings, env }: SourceParts,
  loaded: LoadedVault,
  resolved: Record<string, string>,
): InjectResult {
  const result: InjectResult = {
    variables: {},
    loaded: loaded.loaded,
    skipped: [],
    references: [],
    outsideValidityPeriod: loaded.outsideValidityPeriod,
    missing: loaded.missing,
    refused: loaded.refused,
  };
  for (const [key, value] of Object.entries(resolved)) {
    result.variables[key] = value;
    result.references.push(key);
  }
  for (const [key, value] of Object.entries(loaded.variables)) {
    if (env[key] !== undefined && !settings.override) result.skipped.push(key);
    else result.variables[key] = value;
  }
  return result;
}

/** The failures of a reload as `name: reason` lines; rethrows anything else. */
function failuresOf(error: unknown): string[] {
  if (error instanceof ReloadError) return error.failures;
  if (error instanceof SecretCacheError) {
    return error.failures.length === 0
      ? [error.message]
      : error.failures.map(({ secretName, reason }) => `${secretName}: ${reason}`);
  }
  if (error instanceof KeyVaultReferenceError) {
    return error.failures.map(({ variableName, reason }) => `${variableName}: ${reason}`);
  }
  if (error instanceof EnvironmentKeyCollisionError) return [error.message];
  throw error;
}

/**
 * Turns the errors of a load into an {@link InjectError} with a readable message.
 * @param error - the error
 * @param exitCode - the status for it
 * @returns the error to report
 */
export function asInjectError(error: unknown, exitCode: number): InjectError | unknown {
  if (error instanceof InjectError) return error;
  if (error instanceof KeyVaultReferenceError) {
    return new InjectError(
      `Key Vault references failed; nothing was loaded. Each variable that failed, and why:\n${error.failures.map(({ variableName, reason }) => `  ${variableName}: ${reason}`).join("\n")}`,
      exitCode,
    );
  }
  if (error instanceof TypeError) return new InjectError(error.message, 2);
  return error;
}
