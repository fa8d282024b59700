/**
 * The SecretCache specs' kit: an in-memory vault behind the two methods a cache uses (its list
 * pages, gets, hooks that fail them, and counts), a cache with fast throttling delays, and small
 * helpers. Shared by every spec under test/unit/secretCache/.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createHttpHeaders, createPipelineRequest, RestError } from "@azure/core-rest-pipeline";
import type { AbortSignalLike } from "@azure/abort-controller";
import type { PageSettings } from "@azure/core-paging";
import type { KeyVaultSecret, SecretProperties } from "../../../src/index.js";
import type { ContinuablePage } from "../../../src/paging.js";
import {
  SecretCache,
  type SecretCacheChange,
  type SecretCacheClient,
  type SecretCacheOptions,
} from "../../../src/secretCache/index.js";
import { pause } from "../../helpers/testKit.js";

export { pause };

export const vaultUrl = "https://myvault.vault.azure.net";

export interface StoredSecret {
  name: string;
  value: string;
  version: string;
  enabled: boolean;
  tags?: Record<string, string>;
  updatedOn: Date;
  expiresOn?: Date;
  notBefore?: Date;
}

/** What the fake vault does with one request instead of answering it. */
export type Hook = (name: string, call: number) => Error | undefined;

export function restError(statusCode: number, code: string, headers: Record<string, string> = {}) {
  const request = createPipelineRequest({ url: `${vaultUrl}/secrets` });
  return new RestError(`${code} (fake vault)`, {
    statusCode,
    code,
    request,
    response: { status: statusCode, headers: createHttpHeaders(headers), request },
  });
}

export function throttled(headers: Record<string, string> = {}): RestError {
  return restError(429, "Throttled", headers);
}

/**
 * A vault in memory behind the two methods a SecretCache uses. Like the service, its list gives
 * base ids (no version) and whole-second `updatedOn`; its clock starts an hour ago and moves one
 * second per write, so that cached secrets are "settled" unless a test says otherwise.
 */
export class FakeVault implements SecretCacheClient {
  /** As `SecretClient.vaultUrl`: the vault whose events a cache takes. */
  readonly vaultUrl = vaultUrl;
  readonly secrets = new Map<string, StoredSecret>();
  pageSize = 3;
  getDelayMs = 2;
  listDelayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** Names passed to getSecret, in order; and when each started. */
  readonly gets: Array<{ name: string; at: number }> = [];
  /** Continuation tokens of the page requests. */
  readonly pageRequests: Array<string | undefined> = [];
  getHook: Hook | undefined;
  pageHook: ((token: string | undefined, call: number) => Error | undefined) | undefined;
  clockMs = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
  realClock = false;
  /** Pages without continuationToken, as Microsoft's 4.x client gives them. */
  withoutTokens = false;

  set(
    name: string,
    value: string,
    options: {
      enabled?: boolean;
      tags?: Record<string, string>;
      expiresOn?: Date;
      notBefore?: Date;
    } = {},
  ) {
    this.clockMs += 1000;
    const updatedOn = new Date(
      this.realClock ? Math.floor(Date.now() / 1000) * 1000 : this.clockMs,
    );
    this.secrets.set(name.toLowerCase(), {
      name,
      value,
      version: randomBytes(16).toString("hex"),
      enabled: options.enabled ?? true,
      tags: options.tags,
      updatedOn,
      expiresOn: options.expiresOn,
      notBefore: options.notBefore,
    });
  }

  seed(count: number, prefix = "s"): string[] {
    const names = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);
    for (const name of names) this.set(name, `value-of-${name}`);
    return names;
  }

  private properties(stored: StoredSecret, withVersion: boolean): SecretProperties {
    return {
      vaultUrl,
      name: stored.name,
      id: `${vaultUrl}/secrets/${stored.name}${withVersion ? `/${stored.version}` : ""}`,
      ...(withVersion ? { version: stored.version } : {}),
      enabled: stored.enabled,
      tags: stored.tags,
      updatedOn: stored.updatedOn,
      expiresOn: stored.expiresOn,
      notBefore: stored.notBefore,
    };
  }

  listPropertiesOfSecrets(_options?: { abortSignal?: AbortSignalLike }): {
    byPage(settings?: PageSettings): AsyncIterableIterator<ContinuablePage<SecretProperties>>;
  } {
    return { byPage: (settings = {}) => this.pages(settings.continuationToken) };
  }

  private async *pages(token: string | undefined) {
    const all = [...this.secrets.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    let start = token === undefined ? 0 : Number(token);
    for (;;) {
      this.pageRequests.push(start === 0 ? undefined : String(start));
      if (this.listDelayMs > 0) await pause(this.listDelayMs);
      const failure = this.pageHook?.(
        start === 0 ? undefined : String(start),
        this.pageRequests.length,
      );
      if (failure) throw failure;
      const page = all
        .slice(start, start + this.pageSize)
        .map((s) => this.properties(s, false)) as ContinuablePage<SecretProperties>;
      start += this.pageSize;
      if (start < all.length && !this.withoutTokens) page.continuationToken = String(start);
      yield page;
      if (start >= all.length) return;
    }
  }

  async getSecret(
    name: string,
    options?: { abortSignal?: AbortSignalLike },
  ): Promise<KeyVaultSecret> {
    this.gets.push({ name, at: Date.now() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await pause(this.getDelayMs);
      if (options?.abortSignal?.aborted) throw new Error("aborted");
      const failure = this.getHook?.(name, this.gets.filter((g) => g.name === name).length);
      if (failure) throw failure;
      const stored = this.secrets.get(name.toLowerCase());
      if (stored === undefined) throw restError(404, "SecretNotFound");
      if (!stored.enabled) {
        const error = restError(403, "Forbidden");
        error.details = { error: { code: "Forbidden", innererror: { code: "SecretDisabled" } } };
        throw error;
      }
      return { name: stored.name, value: stored.value, properties: this.properties(stored, true) };
    } finally {
      this.inFlight--;
    }
  }

  /** The latest version id of every secret, by name as stored. */
  versions(): Record<string, string> {
    return Object.fromEntries([...this.secrets.values()].map((s) => [s.name, s.version]));
  }

  getsOf(name: string): number {
    return this.gets.filter((g) => g.name === name).length;
  }
}

/** What a refresh that changed nothing returns. */
export const nothingChanged = Object.freeze({
  added: [],
  updated: [],
  removed: [],
  skipped: [],
  details: [],
});

export function cacheOf(vault: FakeVault, options: SecretCacheOptions = {}): SecretCache {
  return new SecretCache(vault, { throttleDelayInMs: 5, maxThrottleDelayInMs: 40, ...options });
}

export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the promise to reject");
}

export function nextEvent<T>(cache: SecretCache, event: "change" | "error"): Promise<T> {
  return new Promise((resolve) =>
    cache.once(event as "change", resolve as (c: SecretCacheChange) => void),
  );
}

/**
 * Closes every cache a test made: call it inside a describe; it returns `track`, which registers
 * a cache and hands it back.
 * @returns track
 */
export function trackCaches(): (cache: SecretCache) => SecretCache {
  const caches: SecretCache[] = [];
  afterEach(() => {
    for (const cache of caches.splice(0)) cache.close();
  });
  return (cache) => {
    caches.push(cache);
    return cache;
  };
}
