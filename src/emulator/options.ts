/**
 * Options of the local vault, shared by `startLocalVault` and the `keyvault-emulator` command line.
 */

import type { LocalVaultSeed } from "./seed.js";

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
   * Port to listen on; 0 picks a free one.
   * @default 0 (programmatic), 8443 (command line)
   */
  port?: number;
  /**
   * Serve HTTPS. `true` generates a self-signed certificate (see `LocalVault.caCertificate`).
   * @default false
   */
  https?: boolean | { cert: string | Buffer; key: string | Buffer };
  /**
   * Directory where the vault keeps its state; every write is durable before it is acknowledged.
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
   * `insufficient_claims`), once per token.
   * @default false
   */
  claimsChallenge?: boolean;
  /**
   * Key (32 bytes, base64) that encrypts backups; vaults started with the same key restore each
   * other's backups.
   * @default a random key per vault (persisted under `location` when given)
   */
  backupKey?: string;
  /** Fault injection, all off by default. */
  faults?: LocalVaultFaultOptions;
  /**
   * Secrets loaded before the vault answers: the path of a seed file (JSON, the format that
   * `keyvault-emulator export` writes) or its content. Names the vault already holds (kept under
   * `location`) are left as they are. A bad seed fails the start with the file, the entry and the
   * reason.
   * @default no seed
   */
  seed?: string | LocalVaultSeed;
}
