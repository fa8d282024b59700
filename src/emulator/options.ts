/**
 * Options of the local vault, shared by `startLocalVault` and the `keyvault-emulator` command line,
 * and their validation (one place for both).
 */
import { recoveryLevels } from "../api/wireTypes.js";
import { normalizeHostname } from "./http/hosts.js";
import {
  checkEventSubscriptions,
  defaultNearExpiryInMs,
  maxNearExpiryInMs,
  vaultNamePattern,
  type CheckedEventSubscription,
  type LocalVaultEventOptions,
  type LocalVaultEventSubscription,
} from "./events/eventOptions.js";

import type { LocalVaultSeed } from "./state/seed.js";

/** Faults the local vault can inject, all off by default. */
export interface LocalVaultFaultOptions {
  /**
   * Requests the vault accepts per 10-second window before it answers 429 `Throttled`
   * (the real service: 4000). Throttled requests do not count.
   * @default no throttling
   */
  throttleLimit?: number;
  /**
   * Whether a 429 carries `Retry-After` (seconds until the window ends).
   * @default true
   */
  throttleRetryAfter?: boolean;
  /**
   * Share of requests (0..1) answered with a 5xx (500 or 503, alternating).
   * @default 0
   */
  errorRate?: number;
  /**
   * Milliseconds added before every answer.
   * @default 0
   */
  latencyMs?: number;
  /**
   * Share of requests (0..1) whose connection is destroyed without an answer.
   * @default 0
   */
  dropRate?: number;
}

/** Options of the local vault. */
export interface LocalVaultOptions {
  /**
   * Interface to listen on.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * More names the vault answers to, e.g. a compose service name. The vault serves only requests
   * whose `Host` names it: loopback names and addresses, `host`, and these (any other `Host` is
   * answered 421, so a web page cannot reach it by rebinding its own DNS name). With a generated
   * certificate (`https: true`), these names are in its subjectAltName too.
   * @default none
   */
  hostnames?: string[];
  /**
   * Port to listen on; 0 picks a free one.
   * @default 0 (programmatic), 8443 (command line)
   */
  port?: number;
  /**
   * Serve HTTPS. `true` generates a CA and a server certificate (see `LocalVault.caCertificate`),
   * kept under `location` when given, so a CA trusted once stays trusted across restarts.
   * @default false
   */
  https?: boolean | { cert: string | Buffer; key: string | Buffer };
  /**
   * Directory where the vault keeps its state; every write is durable before it is acknowledged
   * or seen by a reader. Created owner-only (0700); its files are 0600 and marked as the vault's,
   * and the vault refuses to start on a symbolic link or a file it did not write there.
   * @default in memory only
   */
  location?: string;
  /**
   * Days a deleted secret is kept (7..90).
   * @default 90
   */
  recoverableDays?: number;
  /**
   * The recovery level reported on every secret; `Purgeable` disables soft delete.
   * @default "Recoverable+Purgeable" (or "CustomizedRecoverable+Purgeable" when recoverableDays \< 90)
   */
  recoveryLevel?: string;
  /**
   * Accept only tokens the local vault issued (signature, audience, expiry checked).
   * @default false (any bearer token is accepted)
   */
  strictAuth?: boolean;
  /**
   * Milliseconds before a delete or recover completes (pollers see 404 until then).
   * @default 100
   */
  delayMs?: number;
  /**
   * Tenant named in the authentication challenge and issued tokens.
   * @default "00000000-0000-0000-0000-000000000000"
   */
  tenantId?: string;
  /**
   * Insert an empty page (`value: []` with a `nextLink`) before each real page of every list.
   * @default false
   */
  emptyPages?: boolean;
  /**
   * Answer the first request after a token was accepted with one CAE claims challenge (401
   * `insufficient_claims`), once per token. A token asked for with the claims (`vault.credential`)
   * passes; the managed identity endpoint's next token carries the claims of the challenge it
   * answers; the challenged token itself passes when sent again (a cached managed identity token).
   * @default false
   */
  claimsChallenge?: boolean;
  /**
   * Key (32 bytes, base64) that encrypts backups; vaults started with the same key restore each
   * other's backups.
   * @default a random key per vault (persisted under `location` when given)
   */
  backupKey?: string;
  /**
   * Secret the managed-identity endpoint expects in `x-identity-header` (what clients get as
   * `IDENTITY_HEADER`): 16 to 256 visible ASCII characters.
   * @default a random value, kept under `location` when given (so a saved `.env` stays valid)
   */
  identityHeader?: string;
  /** Fault injection, all off by default. */
  faults?: LocalVaultFaultOptions;
  /**
   * Milliseconds after a purge during which restoring a backup of the same name answers 409
   * `Conflict`, as the service does while the purge settles (0 turns it off).
   * @default 5000
   */
  restoreConflictAfterPurgeInMs?: number;
  /**
   * Milliseconds a client has to send the headers of a request; a slower one is answered 408 and
   * disconnected.
   * @default 10000
   */
  headersTimeoutInMs?: number;
  /**
   * Milliseconds a client has to send a whole request (headers and body); at least
   * `headersTimeoutInMs`.
   * @default 30000
   */
  requestTimeoutInMs?: number;
  /**
   * Milliseconds an idle keep-alive connection stays open.
   * @default 5000
   */
  keepAliveTimeoutInMs?: number;
  /**
   * Most connections open at once. At the cap a new connection takes the place of the
   * connection idle longest (no request in flight); it is closed at once only when every
   * connection has a request in flight.
   * @default 256
   */
  maxConnections?: number;
  /**
   * Secrets loaded before the vault answers: the path of a seed file (JSON, the format that
   * `keyvault-emulator export` writes) or its content. Names the vault already holds (kept under
   * `location`) are left as they are. A bad seed fails the start with the file, the entry and the
   * reason.
   * @default no seed
   */
  seed?: string | LocalVaultSeed;
  /**
   * Webhooks that receive the vault's events, as Event Grid's event subscriptions do:
   * `SecretNewVersionCreated`, `SecretNearExpiry` and `SecretExpired`, in the service's shapes,
   * never with a value. More can be added later, through the authenticated control route
   * `POST /__local/events/subscriptions` only; at most 16 in all.
   * @default none
   */
  eventSubscriptions?: LocalVaultEventSubscription[];
  /** When events happen and how they are delivered. */
  events?: LocalVaultEventOptions;
}

/** Options after validation, with every default filled in. */
export interface CheckedLocalVaultOptions {
  host: string;
  port: number;
  recoverableDays: number;
  recoveryLevel: string;
  delayMs: number;
  tenantId: string;
  strictAuth: boolean;
  emptyPages: boolean;
  claimsChallenge: boolean;
  /** 32 bytes, or undefined for a random (or persisted) key. */
  backupKey: Buffer | undefined;
  /** Undefined for a random (or persisted) header. */
  identityHeader: string | undefined;
  /** Normalized: lower case, IPv6 without brackets, no duplicates. */
  hostnames: string[];
  restoreConflictAfterPurgeInMs: number;
  headersTimeoutInMs: number;
  requestTimeoutInMs: number;
  keepAliveTimeoutInMs: number;
  maxConnections: number;
  eventSubscriptions: CheckedEventSubscription[];
  events: Required<LocalVaultEventOptions>;
}

/** Default of `headersTimeoutInMs`. */
export const defaultHeadersTimeoutInMs = 10_000;
/** Default of `requestTimeoutInMs`. */
export const defaultRequestTimeoutInMs = 30_000;
/** Default of `keepAliveTimeoutInMs`. */
export const defaultKeepAliveTimeoutInMs = 5_000;
/** Default of `maxConnections`. */
export const defaultMaxConnections = 256;
/** Default of `restoreConflictAfterPurgeInMs`: about what the service shows. */
export const defaultRestoreConflictAfterPurgeInMs = 5_000;

/**
 * How an option is named in messages: `recoverableDays` (or `faults.errorRate`) for the API,
 * `--recoverable-days` for the command line.
 */
export type OptionLabel = (option: string, group?: "faults" | "events") => string;

/** Options named as the API spells them. */
const apiLabel: OptionLabel = (option, group) =>
  group === undefined ? option : `${group}.${option}`;

/** Default tenant of the challenge and of issued tokens. */
export const defaultTenantId = "00000000-0000-0000-0000-000000000000";
/** setTimeout's largest delay. */
const maxDelayMs = 2_147_483_647;

/**
 * Validates local vault options once, for `startLocalVault` and the command line alike.
 * @param options - the options as given
 * @param label - how an option is named in messages
 * @returns the options with their defaults
 * @throws TypeError for a value of the wrong type, RangeError for a value out of range
 */
export function checkLocalVaultOptions(
  options: LocalVaultOptions,
  label: OptionLabel = apiLabel,
): CheckedLocalVaultOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("The local vault options must be an object.");
  }
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || !/^[^\s/]+$/.test(host)) {
    throw new TypeError(
      `${label("host")} must be a host name or IP address, got "${String(host)}".`,
    );
  }
  const port = integerIn(label, "port", options.port, 0, 0, 65535);
  const recoverableDays = integerIn(label, "recoverableDays", options.recoverableDays, 90, 7, 90);
  const levelAsGiven =
    options.recoveryLevel ??
    (recoverableDays < 90 ? "CustomizedRecoverable+Purgeable" : "Recoverable+Purgeable");
  const recoveryLevel = recoveryLevels.find(
    (known) =>
      typeof levelAsGiven === "string" && known.toLowerCase() === levelAsGiven.toLowerCase(),
  );
  if (recoveryLevel === undefined) {
    throw new RangeError(
      `${label("recoveryLevel")} must be one of ${recoveryLevels.join(", ")}; got "${String(levelAsGiven)}".`,
    );
  }
  const delayMs = integerIn(label, "delayMs", options.delayMs, 100, 0, maxDelayMs);
  const tenantId = options.tenantId ?? defaultTenantId;
  if (typeof tenantId !== "string" || !/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(tenantId)) {
    throw new RangeError(
      `${label("tenantId")} must be a tenant GUID or domain name, got "${String(tenantId)}".`,
    );
  }
  let backupKey: Buffer | undefined;
  if (options.backupKey !== undefined) {
    // The key is a secret: the message never repeats it.
    const text = options.backupKey;
    if (
      typeof text !== "string" ||
      !/^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ||
      Buffer.from(text, "base64").length !== 32
    ) {
      throw new RangeError(
        `${label("backupKey")} must be 32 bytes in base64 (for example from \`openssl rand -base64 32\`).`,
      );
    }
    backupKey = Buffer.from(text, "base64");
  }
  const identityHeader = options.identityHeader;
  // A secret too: the message never repeats it.
  if (
    identityHeader !== undefined &&
    (typeof identityHeader !== "string" || !/^[\x21-\x7e]{16,256}$/.test(identityHeader))
  ) {
    throw new RangeError(
      `${label("identityHeader")} must be 16 to 256 visible ASCII characters (no spaces).`,
    );
  }
  validateFaults(options.faults ?? {}, (option) => label(option, "faults"));
  const hostnames = options.hostnames ?? [];
  if (!Array.isArray(hostnames)) {
    throw new TypeError(`${label("hostnames")} must be an array of host names.`);
  }
  const names = new Set<string>();
  for (const name of hostnames) {
    try {
      names.add(normalizeHostname(name));
    } catch (error) {
      throw new RangeError(`${label("hostnames")}: ${(error as Error).message}`, { cause: error });
    }
  }
  const headersTimeoutInMs = integerIn(
    label,
    "headersTimeoutInMs",
    options.headersTimeoutInMs,
    defaultHeadersTimeoutInMs,
    1,
    maxDelayMs,
  );
  const requestTimeoutInMs = integerIn(
    label,
    "requestTimeoutInMs",
    options.requestTimeoutInMs,
    Math.max(defaultRequestTimeoutInMs, headersTimeoutInMs),
    headersTimeoutInMs,
    maxDelayMs,
  );
  return {
    host,
    port,
    recoverableDays,
    recoveryLevel,
    delayMs,
    tenantId,
    strictAuth: flag(label, "strictAuth", options.strictAuth),
    emptyPages: flag(label, "emptyPages", options.emptyPages),
    claimsChallenge: flag(label, "claimsChallenge", options.claimsChallenge),
    backupKey,
    identityHeader,
    hostnames: [...names],
    restoreConflictAfterPurgeInMs: integerIn(
      label,
      "restoreConflictAfterPurgeInMs",
      options.restoreConflictAfterPurgeInMs,
      defaultRestoreConflictAfterPurgeInMs,
      0,
      maxDelayMs,
    ),
    headersTimeoutInMs,
    requestTimeoutInMs,
    keepAliveTimeoutInMs: integerIn(
      label,
      "keepAliveTimeoutInMs",
      options.keepAliveTimeoutInMs,
      defaultKeepAliveTimeoutInMs,
      1,
      maxDelayMs,
    ),
    maxConnections: integerIn(
      label,
      "maxConnections",
      options.maxConnections,
      defaultMaxConnections,
      1,
      1_000_000,
    ),
    eventSubscriptions: checkEventSubscriptions(
      options.eventSubscriptions,
      label("eventSubscriptions"),
    ),
    events: checkEventTiming(options.events ?? {}, (option) => label(option, "events")),
  };
}

/**
 * Checks the timing of events and deliveries.
 * @param events - the `events` option
 * @param label - how an option is named in messages
 * @returns every setting, with its default
 */
function checkEventTiming(
  events: LocalVaultEventOptions,
  label: (option: string) => string,
): Required<LocalVaultEventOptions> {
  if (typeof events !== "object" || events === null || Array.isArray(events)) {
    throw new TypeError("events must be an object.");
  }
  const { nearExpiryInMs, retryDelayScale, maxDeliveryAttempts, vaultName } = events;
  const named: OptionLabel = (option) => label(option);
  if (retryDelayScale !== undefined) {
    if (typeof retryDelayScale !== "number" || Number.isNaN(retryDelayScale)) {
      throw new TypeError(
        `${label("retryDelayScale")} must be a number, got ${String(retryDelayScale)}.`,
      );
    }
    if (!(retryDelayScale > 0 && retryDelayScale <= 1)) {
      throw new RangeError(
        `${label("retryDelayScale")} must be above 0 and at most 1, got ${retryDelayScale}.`,
      );
    }
  }
  if (
    vaultName !== undefined &&
    (typeof vaultName !== "string" || !vaultNamePattern.test(vaultName))
  ) {
    throw new RangeError(
      `${label("vaultName")} must be 3 to 24 letters, digits and dashes, starting with a letter.`,
    );
  }
  return {
    nearExpiryInMs: integerIn(
      named,
      "nearExpiryInMs",
      nearExpiryInMs,
      defaultNearExpiryInMs,
      0,
      maxNearExpiryInMs,
    ),
    retryDelayScale: retryDelayScale ?? 1,
    maxDeliveryAttempts: integerIn(named, "maxDeliveryAttempts", maxDeliveryAttempts, 30, 1, 30),
    vaultName: vaultName ?? "localvault",
  };
}

/**
 * Checks an optional whole number against its range.
 * @param label - how the option is named in messages
 * @param option - the option's API name
 * @param value - the value given, if any
 * @param fallback - the default
 * @param min - smallest value
 * @param max - largest value
 * @returns the value or the default
 */
export function integerIn(
  label: OptionLabel,
  option: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${label(option)} must be a whole number, got ${String(value)}.`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${label(option)} must be from ${min} to ${max}, got ${value}.`);
  }
  return value;
}

function flag(label: OptionLabel, option: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") {
    throw new TypeError(`${label(option)} must be a boolean, got ${String(value)}.`);
  }
  return value;
}

/** Most requests a throttling window may allow. */
const maxThrottleLimit = 1_000_000_000;

/**
 * Checks fault settings (for `startLocalVault`, `setFaults`, `PUT /__local/faults` and the flags).
 * @param faults - the settings
 * @param label - how an option is named in messages
 * @throws TypeError for a value of the wrong type, RangeError for a value out of range
 */
export function validateFaults(
  faults: LocalVaultFaultOptions,
  label: (option: string) => string = (option) => apiLabel(option, "faults"),
): void {
  if (typeof faults !== "object" || faults === null || Array.isArray(faults)) {
    throw new TypeError("faults must be an object.");
  }
  const { throttleLimit, errorRate, dropRate, latencyMs, throttleRetryAfter } = faults;
  integerIn(label, "throttleLimit", throttleLimit, 0, 0, maxThrottleLimit);
  integerIn(label, "latencyMs", latencyMs, 0, 0, maxDelayMs);
  for (const [name, rate] of [
    ["errorRate", errorRate],
    ["dropRate", dropRate],
  ] as const) {
    if (rate === undefined) continue;
    if (typeof rate !== "number" || Number.isNaN(rate)) {
      throw new TypeError(`${label(name)} must be a number from 0 to 1, got ${String(rate)}.`);
    }
    if (!(rate >= 0 && rate <= 1)) {
      throw new RangeError(`${label(name)} must be from 0 to 1, got ${rate}.`);
    }
  }
  if (throttleRetryAfter !== undefined && typeof throttleRetryAfter !== "boolean") {
    throw new TypeError(`${label("throttleRetryAfter")} must be a boolean.`);
  }
}
