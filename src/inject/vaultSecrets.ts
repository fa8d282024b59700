/**
 * The vault side of an `EnvironmentSource` (environmentSource.ts): the vault of `--vault` /
 * `KEYVAULT_URI` read through a `SecretCache` with the chosen filters and mapped to variables, and
 * the refusals of a read that matched nothing or held a NUL value. References are references.ts's.
 */
import type { AbortSignalLike } from "@azure/abort-controller";
import type { SecretCacheChangeDetail } from "../secretCache/changes.js";
import {
  EnvironmentKeyCollisionError,
  mapToEnvironment,
  toEnvironmentKey,
} from "../secretCache/environment.js";
import { SecretCacheError } from "../secretCache/errors.js";
import type { SecretCacheOptions } from "../secretCache/options.js";
import { SecretCache } from "../secretCache/secretCache.js";
import { SecretClient } from "../secretClient.js";
import { InjectError, type VaultConnection } from "./connection.js";
import type { InjectResult } from "./environmentSource.js";
import type { InjectSettings } from "./loadEnvironment.js";

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
export type LoadedVault = Pick<
  InjectResult,
  "variables" | "loaded" | "outsideValidityPeriod" | "missing" | "refused"
>;

export const noVault: LoadedVault = {
  variables: {},
  loaded: [],
  outsideValidityPeriod: [],
  missing: [],
  refused: [],
};

/** The vault of `--vault` / `KEYVAULT_URI`: its client, cache and mapping to variables. */
export class VaultSecrets {
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
