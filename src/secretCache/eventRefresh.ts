/**
 * What a delivery of Key Vault's events asks a {@link SecretCache} to do: which secrets to read
 * again, which to leave alone and why. Pure: the cache says what it holds, this decides, the cache
 * reads. A webhook is reachable by anyone, so an event can only make the cache read from its own
 * vault (never put a value in it), and only what the cache covers.
 */
import {
  type KeyVaultSecretEvent,
  parseKeyVaultEventDelivery,
  secretNearExpiryEventType,
  secretNewVersionCreatedEventType,
} from "../events/keyVaultEvents.js";
import type { SecretCacheChange } from "./changes.js";
import { keyOf } from "./options.js";

/** What `SecretCache.handleEvent` did with a delivery: names, never values. */
export interface SecretCacheEventResult {
  /**
   * The secrets read again by name (`SecretNewVersionCreated`, `SecretExpired`), as the events
   * spell them, sorted, each once.
   */
  refreshed: string[];
  /**
   * Whether every secret was refreshed (a listing, as `refreshNow()` without names does) because
   * an event named a secret the cache does not hold yet: a new secret, which the filters may keep.
   */
  refreshedAll: boolean;
  /**
   * The secrets whose current version expires soon (`SecretNearExpiry`), sorted: nothing was read
   * (the value did not change). Rotate them, or alert.
   */
  nearExpiry: string[];
  /**
   * The secrets of `SecretNewVersionCreated` events whose version the cache already holds (a
   * delivery repeated, as at-least-once delivery may): nothing was read.
   */
  upToDate: string[];
  /**
   * Events left alone: other vaults', other objects' (keys, certificates), and secrets the cache
   * does not cover (its `names` or `prefix` filter; a cache filled only by `getOrFetch` covers
   * the secrets it holds).
   */
  ignored: number;
  /** What the reads changed, as `refreshNow` reports it. */
  change: SecretCacheChange;
}

/** What the planner needs to know of the cache. */
export interface EventRefreshView {
  /** The host (`name:port`, lower case) of the cache's vault. */
  vaultHost: string;
  /** Whether the cache's `names` and `prefix` filters keep a name (by key). */
  matchesName(key: string): boolean;
  /** Whether the cache has loaded every secret (then it takes new secrets in). */
  loaded: boolean;
  /** The version the cache holds of a secret, `null` for one invalidated, undefined when none. */
  heldVersion(key: string): string | null | undefined;
}

/** The reads a delivery calls for. */
export interface EventRefreshPlan {
  /** Secrets to read by name: key -> name as the event spells it. */
  readByName: Map<string, string>;
  /** Whether a listing refresh is needed (a secret the cache does not hold yet). */
  refreshAll: boolean;
  nearExpiry: string[];
  upToDate: string[];
  ignored: number;
}

/**
 * Decides what a delivery asks of the cache.
 * @param body - what the webhook received (checked here)
 * @param view - the cache as the planner sees it
 * @returns the reads to make and what was left alone
 * @throws TypeError when the body is not Key Vault's events (or is Event Grid's validation event)
 */
export function planEventRefresh(body: unknown, view: EventRefreshView): EventRefreshPlan {
  const delivery = parseKeyVaultEventDelivery(body);
  if (delivery.kind === "validation") {
    throw new TypeError(
      "SecretCache.handleEvent(): this is Event Grid's subscription validation, not an event; answer it with 200 and { validationResponse: data.validationCode } (createEventGridHandler does).",
    );
  }
  const plan: EventRefreshPlan = {
    readByName: new Map(),
    refreshAll: false,
    nearExpiry: [],
    upToDate: [],
    ignored: delivery.ignored,
  };
  const nearExpiry = new Map<string, string>();
  const upToDate = new Map<string, string>();
  for (const event of delivery.events) {
    const key = keyOf(event.name);
    const held = view.heldVersion(key);
    if (!isCovered(event, key, held, view)) {
      plan.ignored += 1;
    } else if (event.type === secretNearExpiryEventType) {
      nearExpiry.set(key, event.name);
    } else if (
      event.type === secretNewVersionCreatedEventType &&
      held?.toLowerCase() === event.version.toLowerCase()
    ) {
      upToDate.set(key, event.name);
    } else if (held === undefined) {
      // Not held yet: a listing decides whether the filters keep it (its tags are listed), and a
      // forged event naming random secrets costs one shared listing, not a read per name.
      plan.refreshAll = true;
    } else {
      plan.readByName.set(key, event.name);
    }
  }
  for (const key of plan.readByName.keys()) upToDate.delete(key);
  plan.nearExpiry = [...nearExpiry.values()].sort();
  plan.upToDate = [...upToDate.values()].sort();
  return plan;
}

/** Whether an event is of the cache's vault and names a secret the cache covers. */
function isCovered(
  event: KeyVaultSecretEvent,
  key: string,
  held: string | null | undefined,
  view: EventRefreshView,
): boolean {
  if (new URL(event.secretId).host.toLowerCase() !== view.vaultHost) return false;
  if (!view.matchesName(key)) return false;
  return held !== undefined || view.loaded;
}

/**
 * The host of the vault a cache's client reads (`SecretClient.vaultUrl`), which events must name.
 * @param client - the cache's client
 * @returns `name:port` (the port only when not the scheme's default), lower case
 * @throws TypeError when the client has no `vaultUrl`
 */
export function vaultHostOf(client: object): string {
  const { vaultUrl } = client as { vaultUrl?: unknown };
  if (typeof vaultUrl === "string") {
    try {
      return new URL(vaultUrl).host.toLowerCase();
    } catch {
      // Answered below.
    }
  }
  throw new TypeError(
    "SecretCache.handleEvent(): the cache's client has no vaultUrl, so events of its vault cannot be told from others'; give the cache a SecretClient (or a client with a vaultUrl string).",
  );
}
