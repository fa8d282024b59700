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
  mapToEnvironment,
  toEnvironmentKey,
  type EnvironmentKeyRefusal,
} from "../secretCache/environment.js";
import { SecretCacheError } from "../secretCache/errors.js";
import type { SecretCacheOptions } from "../secretCache/options.js";
import { SecretCache } from "../secretCache/secretCache.js";
import { SecretClient } from "../secretClient.js";
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

/**
 * A reload that changed nothing because a read failed: each failure as `name: reason` (names and
 * reasons, never values).
 */
export class ReloadError extends Error {
  /**
   * Creates the error.
   * @param failures - each secret, reference or listing that failed, and why
   */
  constructor(readonly failures: string[]) {
    super(failures.join("; "));
    this.name = "ReloadError";
  }
}

/** The variables a vault gave, before the environment's own variables are weighed. */
type LoadedVault = Pick<
  InjectResult,
  "variables" | "loaded" | "outsideValidityPeriod" | "missing" | "refused"
>;

const noVault: LoadedVault = {
  variables: {},
  loaded: [],
  outsideValidityPeriod: [],
  missing: [],
  refused: [],
};

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

/** The vault of `--vault` / `KEYVAULT_URI`: its client, cache and mapping to variables. */
class VaultSecrets {
  private readonly client: SecretClient;
  private readonly cache: SecretCache;

  constructor(
    private readonly settings: InjectSettings,
    private readonly vaultUrl: string,
    { credential, clientOptions }: VaultConnection,
    cacheOptions: SecretCacheOptions,
  ) {
    try {
      this.client = new SecretClient(vaultUrl, credential, clientOptions);
    } catch (error) {
      throw new InjectError(`The vault URL cannot be used: ${(error as Error).message}`, 2);
    }
    this.cache = new SecretCache(this.client, {
      ...cacheOptions,
      ...(settings.prefix === undefined ? {} : { prefix: settings.prefix }),
      ...(settings.names === undefined ? {} : { names: settings.names }),
      ...(settings.tag === undefined ? {} : { tag: settings.tag }),
      allowMissingNames: settings.allowMissing,
    });
  }

  /**
   * Loads the vault; errors become an InjectError naming each secret. A load that matched nothing
   * fails unless the settings allow it: at the start as an InjectError, while watching as a
   * ReloadError (see {@link emptyReadRefusal}).
   */
  async load(
    abortSignal: AbortSignalLike | undefined,
    reading: "start" | "watch",
  ): Promise<LoadedVault> {
    try {
      const { skipped, missing } = await this.cache.load(
        abortSignal === undefined ? {} : { abortSignal },
      );
      this.refuseEmptyRead(skipped, reading);
      const nul = this.nulValueNames();
      if (nul.length > 0) {
        throw new InjectError(
          `Nothing was loaded: the value of ${nul.length === 1 ? "this secret holds" : "these secrets hold"} a NUL character, which an environment variable cannot carry: ${nul.join(", ")}. Leave the secret out (--names, --prefix, --tag) or store the value encoded (e.g. base64).`,
        );
      }
      return {
        ...this.mapped(),
        outsideValidityPeriod: skipped.map(({ secretName, reason }) => ({ secretName, reason })),
        missing,
      };
    } catch (error) {
      if (error instanceof SecretCacheError) {
        const lines = error.failures.map(({ secretName, reason }) => `  ${secretName}: ${reason}`);
        throw new InjectError(
          lines.length === 0
            ? `Could not load the secrets of ${this.vaultUrl}: ${error.message}`
            : `Could not load the secrets of ${this.vaultUrl}; nothing was loaded. Each secret that failed, and why:\n${lines.join("\n")}`,
        );
      }
      if (error instanceof EnvironmentKeyCollisionError) throw new InjectError(error.message, 1);
      throw error;
    }
  }

  /**
   * Refreshes the cache (the list, then the secrets whose version changed).
   * @throws SecretCacheError, EnvironmentKeyCollisionError, or ReloadError for NUL values
   */
  async refresh(
    abortSignal: AbortSignalLike | undefined,
  ): Promise<{ loaded: LoadedVault; details: SecretCacheChangeDetail[] }> {
    const change = await this.cache.refresh(abortSignal === undefined ? {} : { abortSignal });
    this.refuseEmptyRead(change.skipped, "watch");
    const nul = this.nulValueNames();
    if (nul.length > 0) {
      throw new ReloadError(
        nul.map(
          (name) => `${name}: the value holds a NUL character, which a variable cannot carry`,
        ),
      );
    }
    const held = new Set(this.cache.secretNames().map((name) => name.toLowerCase()));
    const skipped = new Set(change.skipped.map(({ secretName }) => secretName.toLowerCase()));
    const missing = (this.settings.names ?? [])
      .filter((name) => !held.has(name.toLowerCase()) && !skipped.has(name.toLowerCase()))
      .sort();
    return {
      loaded: {
        ...this.mapped(),
        outsideValidityPeriod: change.skipped.map(({ secretName, reason }) => ({
          secretName,
          reason,
        })),
        missing,
      },
      details: change.details,
    };
  }

  close(): void {
    this.cache.close();
    this.client.close();
  }

  /**
   * Refuses a read that matched no secret of the vault, unless the settings allow it.
   * @throws InjectError at the start, ReloadError while watching (nothing changes, no restart)
   */
  private refuseEmptyRead(
    skipped: Array<{ secretName: string }>,
    reading: "start" | "watch",
  ): void {
    if (this.cache.secretNames().length > 0) return;
    const refusal = emptyReadRefusal(this.settings, this.vaultUrl, skipped);
    if (refusal === undefined) return;
    const { matched, check, allow } = refusal;
    if (reading === "start") {
      throw new InjectError(
        `Nothing was loaded: ${matched}. ${check}, or ${allow} to start with no secrets.`,
      );
    }
    throw new ReloadError([
      `${matched}; a read that matches nothing changes nothing (${check.toLowerCase()}, or ${allow} to apply such a read: the variables are then removed)`,
    ]);
  }

  private entries(): Array<{ name: string; value: string }> {
    return this.cache.secretNames().map((name) => ({ name, value: this.cache.get(name)! }));
  }

  /** The secrets whose value no environment variable can carry. */
  private nulValueNames(): string[] {
    return this.entries()
      .filter(({ value }) => value.includes("\0"))
      .map(({ name }) => name);
  }

  /** The cached secrets as variables (dangerous ones refused unless named), and their names. */
  private mapped(): Pick<LoadedVault, "variables" | "loaded" | "refused"> {
    const { settings } = this;
    const prefixLength = settings.prefix?.length ?? 0;
    const named = new Set(settings.names?.map((name) => name.toLowerCase()));
    const entries = this.entries();
    const mapped = mapToEnvironment(
      entries,
      {
        prefix: settings.envPrefix,
        ...(settings.stripPrefix
          ? { transform: (name: string) => toEnvironmentKey(name.slice(prefixLength)) || undefined }
          : {}),
      },
      (name) => named.has(name.toLowerCase()),
    );
    return { ...mapped, loaded: entries.map(({ name }) => name).sort() };
  }
}

/**
 * Why a read that matched no secret of the vault is refused (a mistyped prefix or tag would
 * otherwise start the app with none, silently; while watching, remove every variable), or
 * undefined when the settings allow it: `allowEmpty`, or `allowMissing` with `names` (the user
 * has said the named secrets may all be absent).
 * @param settings - the settings (filters, allowances, how they are spelled)
 * @param vaultUrl - the vault
 * @param skipped - secrets that matched but are expired or not yet valid
 * @returns what matched nothing, what to check, and the setting that allows it
 */
function emptyReadRefusal(
  settings: InjectSettings,
  vaultUrl: string,
  skipped: Array<{ secretName: string }>,
): { matched: string; check: string; allow: string } | undefined {
  if (settings.allowEmpty || (settings.names !== undefined && settings.allowMissing)) {
    return undefined;
  }
  const filters = describeFilters(settings);
  const matched =
    filters.length === 0
      ? `${vaultUrl} holds no enabled secret that can be read`
      : `no secret of ${vaultUrl} matched ${filters.join(" and ")}`;
  const leftOut =
    skipped.length === 0
      ? ""
      : ` (matched, but expired or not yet valid: ${skipped.map((s) => s.secretName).join(", ")})`;
  const check =
    filters.length === 0
      ? "Check the vault URL"
      : `Check ${filters.length === 1 ? "the filter" : "the filters"} (a prefix matches the start of a name in any case; a tag, its name and value exactly)`;
  return { matched: `${matched}${leftOut}`, check, allow: settings.settingNames.allowEmpty };
}

/** The filters of the settings as the user wrote them, e.g. `--prefix "orders-"`. */
function describeFilters(settings: InjectSettings): string[] {
  const { prefix, names, tag, settingNames } = settings;
  const filters: string[] = [];
  if (prefix !== undefined) filters.push(`${settingNames.prefix} ${JSON.stringify(prefix)}`);
  if (names !== undefined) filters.push(`${settingNames.names} ${JSON.stringify(names.join(","))}`);
  if (tag !== undefined) {
    const text = tag.value === undefined ? tag.name : `${tag.name}=${tag.value}`;
    filters.push(`${settingNames.tag} ${JSON.stringify(text)}`);
  }
  return filters;
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
