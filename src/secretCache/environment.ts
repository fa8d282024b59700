/**
 * Secret names to environment-variable keys, with collisions reported rather than resolved and
 * dangerous variables (dangerousVariables.ts) refused unless the secret was named explicitly.
 */
import { dangerousVariableReason } from "./dangerousVariables.js";

/** Options of {@link SecretCache.toEnv}. */
export interface ToEnvOptions {
  /**
   * Text put before every key, e.g. `"APP_"` turns `db-password` into `APP_DB_PASSWORD`.
   * @default ""
   */
  prefix?: string;
  /**
   * Maps a secret name to its key (before `prefix` is added); return `undefined` to leave the
   * secret out. Compose with {@link toEnvironmentKey} to keep the default mapping, e.g. to strip a
   * name prefix: `(name) => toEnvironmentKey(name.replace(/^myapp-/, ""))`.
   * @default {@link toEnvironmentKey}: upper case, `-` to `_` (so `--` becomes `__`)
   */
  transform?: (secretName: string) => string | undefined;
}

/** Options of {@link SecretCache.applyToProcessEnv}. */
export interface ApplyToProcessEnvOptions extends ToEnvOptions {
  /**
   * Overwrite variables that are already set (even to an empty string). By default the
   * environment wins over the vault, as in Spring's property sources.
   * @default false
   */
  override?: boolean;
}

/** What {@link SecretCache.applyToProcessEnv} did, by environment key (never values). */
export interface ApplyToProcessEnvResult {
  /** Keys written to `process.env`. */
  applied: string[];
  /** Keys left alone because they were already set and `override` was not true. */
  skipped: string[];
  /**
   * Keys a secret may not choose by its name (e.g. `NODE_OPTIONS`, `LD_PRELOAD`, `PATH`), left
   * alone; a secret named in the cache's `names` option may set them.
   */
  refused: EnvironmentKeyRefusal[];
}

/**
 * A variable that a secret's name would have chosen but may not: one that makes a loader, shell,
 * runtime or tool run code, chooses which program runs, whom TLS trusts or where tokens go (e.g.
 * `NODE_OPTIONS`, `BASH_ENV`, `LD_PRELOAD`, `PATH`, `HTTPS_PROXY`). Whoever can write a secret
 * could otherwise run code in the app and in every process it starts. Such a variable is set only
 * from a secret named in the cache's `names` option.
 */
export interface EnvironmentKeyRefusal {
  /** The environment key (after `prefix`). */
  key: string;
  /** The secret whose name mapped to it. */
  secretName: string;
  /** Why it may not be set from a secret, in words. */
  reason: string;
}

/** Two or more secrets that map to one environment key. */
export interface EnvironmentKeyCollision {
  /** The environment key. */
  key: string;
  /** The secret names that map to it, sorted. */
  secretNames: string[];
}

/**
 * Thrown by {@link SecretCache.toEnv} and {@link SecretCache.applyToProcessEnv} when two secrets
 * map to the same environment key. Nothing is written to the environment then: pick a `transform`
 * that keeps the names apart, or narrow the cache's filters.
 *
 * @example
 * ```ts
 * try {
 *   cache.applyToProcessEnv({ transform: (name) => name.split("-").pop() });
 * } catch (error) {
 *   if (error instanceof EnvironmentKeyCollisionError) console.error(error.collisions);
 * }
 * ```
 */
export class EnvironmentKeyCollisionError extends Error {
  /** Every key that more than one secret maps to. */
  readonly collisions: EnvironmentKeyCollision[];

  /**
   * Creates the error.
   * @param collisions - the colliding keys and their secret names
   */
  constructor(collisions: EnvironmentKeyCollision[]) {
    const listed = collisions
      .map((c) => `${c.key} <- ${c.secretNames.map((n) => `"${n}"`).join(", ")}`)
      .join("; ");
    super(
      `${collisions.length === 1 ? "One environment key is" : `${collisions.length} environment keys are`} produced by more than one secret: ${listed}. Nothing was written; use a transform that keeps these names apart or filter the cache.`,
    );
    this.name = "EnvironmentKeyCollisionError";
    this.collisions = collisions;
  }
}

/**
 * The default mapping of a secret name to an environment key: upper case, every `-` to `_`. So
 * `db-password` becomes `DB_PASSWORD`, and the `--` that .NET reads as a section separator becomes
 * `__`, the separator .NET and many frameworks read from environment variables. Because vault
 * names are letters, digits and dashes and compare case-insensitively, two secrets never map to the
 * same key with this mapping.
 *
 * @param secretName - A secret name.
 * @returns The environment key.
 * @example
 * ```ts
 * toEnvironmentKey("db-password"); // "DB_PASSWORD"
 * toEnvironmentKey("Database--Password"); // "DATABASE__PASSWORD"
 * ```
 */
export function toEnvironmentKey(secretName: string): string {
  return secretName.toUpperCase().replace(/-/g, "_");
}

/** Environment variables mapped from secrets, and those refused. */
export interface MappedEnvironment {
  variables: Record<string, string>;
  refused: EnvironmentKeyRefusal[];
}

/**
 * Maps secrets to environment keys and checks the result. A key that a secret may not choose (see
 * dangerousVariables.ts) is refused unless the secret was named explicitly.
 * @param entries - secret names and values, in a stable order
 * @param options - prefix and transform
 * @param isNamedExplicitly - whether the user named this secret (the cache's `names` option)
 * @returns the key-value pairs, and the refused keys
 * @throws TypeError for bad options or a transform returning a key that cannot be one;
 *   EnvironmentKeyCollisionError when two names map to one key
 * @internal
 */
export function mapToEnvironment(
  entries: Array<{ name: string; value: string }>,
  options: ToEnvOptions,
  isNamedExplicitly: (secretName: string) => boolean,
): MappedEnvironment {
  checkToEnvOptions(options);
  const prefix = options.prefix ?? "";
  const transform = options.transform ?? toEnvironmentKey;
  const byKey = new Map<string, { key: string; names: string[]; value: string }>();
  for (const { name, value } of entries) {
    const mapped = transform(name);
    if (mapped === undefined) continue;
    if (typeof mapped !== "string") {
      throw new TypeError(
        `transform must return a string or undefined; for secret "${name}" it returned ${typeof mapped}.`,
      );
    }
    const key = prefix + mapped;
    if (key === "" || key.includes("=") || key.includes("\0")) {
      throw new TypeError(
        `The environment key for secret "${name}" is ${key === "" ? "empty" : `"${key.replace(/\0/g, "\\0")}"`}; keys must be non-empty and contain no "=" or NUL.`,
      );
    }
    // Windows environments ignore case: two keys that differ only in case are one variable there.
    const identity = process.platform === "win32" ? key.toUpperCase() : key;
    const existing = byKey.get(identity);
    if (existing === undefined) byKey.set(identity, { key, names: [name], value });
    else existing.names.push(name);
  }
  const collisions = [...byKey.values()]
    .filter((entry) => entry.names.length > 1)
    .map((entry) => ({ key: entry.key, secretNames: [...entry.names].sort() }));
  if (collisions.length > 0) throw new EnvironmentKeyCollisionError(collisions);
  const mapped: MappedEnvironment = { variables: {}, refused: [] };
  for (const { key, names, value } of byKey.values()) {
    const secretName = names[0]!;
    const reason = dangerousVariableReason(key);
    if (reason === undefined || isNamedExplicitly(secretName)) mapped.variables[key] = value;
    else mapped.refused.push({ key, secretName, reason });
  }
  return mapped;
}

function checkToEnvOptions(options: unknown): asserts options is ToEnvOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object.");
  }
  const { prefix, transform, override } = options as ApplyToProcessEnvOptions;
  if (prefix !== undefined && typeof prefix !== "string") {
    throw new TypeError(`prefix must be a string, got ${typeof prefix}.`);
  }
  if (transform !== undefined && typeof transform !== "function") {
    throw new TypeError(`transform must be a function, got ${typeof transform}.`);
  }
  if (override !== undefined && typeof override !== "boolean") {
    throw new TypeError(`override must be a boolean, got ${typeof override}.`);
  }
}
