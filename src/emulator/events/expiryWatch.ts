/**
 * The expiry watch: `SecretNearExpiry` when the vault clock passes a current version's `exp`
 * minus the threshold, `SecretExpired` when it passes `exp`. Each is decided once per version and
 * expiry date: the decision is a journaled record (a notice) made before the event goes out, so a
 * restarted vault neither repeats it nor, if it was down when the moment passed, misses it (it
 * makes it on start). The watch sleeps until the next moment on the vault clock and looks again
 * whenever a change or `advanceClock` may have moved one.
 */
import { maxTimerDelayInMs } from "../../util/limits.js";
import type { CurrentVersion, ExpiryNoticeKind, StoreRecord } from "../state/storeTypes.js";

/** A notice: the record of an expiry event. */
export type NoticeRecord = Extract<StoreRecord, { type: "notice" }>;

/** What the watch reads: the vault clock and the current versions (the accepted state). */
export interface ExpiryWatchStore {
  readonly clock: { nowMs(): number };
  currentVersions(key?: string): CurrentVersion[];
}

/** Watches the current versions' expiry dates on the vault clock. */
export class ExpiryWatch {
  /** Vault-clock milliseconds of each secret's next moment, for secrets that have one. */
  private readonly deadlines = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Vault-clock milliseconds the timer is set for. */
  private timerAtMs = Infinity;
  private closed = false;

  /**
   * @param store - the vault clock and the current versions
   * @param nearExpiryInMs - how far ahead of `exp` the near-expiry moment is
   * @param notify - makes a notice (applies and journals it; the event follows once durable)
   */
  constructor(
    private readonly store: ExpiryWatchStore,
    private readonly nearExpiryInMs: number,
    private readonly notify: (record: NoticeRecord) => void,
  ) {}

  /** Looks at every secret once (moments passed while the vault was down) and starts watching. */
  start(): void {
    for (const current of this.store.currentVersions()) this.check(current);
    this.schedule();
  }

  /**
   * Looks again at what a change may have moved.
   * @param record - a change, once durable
   */
  changed(record: StoreRecord): void {
    switch (record.type) {
      case "set":
      case "update":
      case "recover":
        this.recheck(record.key);
        break;
      case "restore":
        this.recheck(record.secret.name.toLowerCase());
        break;
      case "delete":
      case "purge":
        this.deadlines.delete(record.key);
        break;
      case "reset":
        this.deadlines.clear();
        break;
      case "clock":
        this.checkDue();
        break;
      default:
        return;
    }
    this.schedule();
  }

  /** Stops watching. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private recheck(key: string): void {
    const [current] = this.store.currentVersions(key);
    if (current === undefined) this.deadlines.delete(key);
    else this.check(current);
  }

  private checkDue(): void {
    const now = this.store.clock.nowMs();
    for (const [key, atMs] of [...this.deadlines]) if (atMs <= now) this.recheck(key);
  }

  /** Makes the notices whose moment has passed; remembers the next moment. */
  private check(current: CurrentVersion): void {
    this.deadlines.delete(current.key);
    const { version, exp, nbf } = current.version;
    if (exp === undefined) return;
    const sent = current.sent?.version === version ? current.sent : undefined;
    const now = this.store.clock.nowMs();
    const moments: Array<[ExpiryNoticeKind, number]> = [
      ["nearExpiry", exp * 1000 - this.nearExpiryInMs],
      ["expired", exp * 1000],
    ];
    for (const [kind, atMs] of moments) {
      if (sent?.[kind] === exp) continue;
      if (atMs > now) {
        this.deadlines.set(current.key, atMs);
        return;
      }
      const notice: NoticeRecord = {
        type: "notice",
        key: current.key,
        name: current.name,
        version,
        kind,
        exp,
      };
      if (nbf !== undefined) notice.nbf = nbf;
      this.notify(notice);
    }
  }

  /** Sets the timer for the nearest moment (a long wait is cut into setTimeout's longest). */
  private schedule(): void {
    let next = Infinity;
    for (const atMs of this.deadlines.values()) next = Math.min(next, atMs);
    if (this.closed || (next === this.timerAtMs && this.timer !== undefined)) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAtMs = next;
    if (next === Infinity) return;
    const delay = Math.min(Math.max(0, next - this.store.clock.nowMs()), maxTimerDelayInMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAtMs = Infinity;
      this.checkDue();
      this.schedule();
    }, delay);
  }
}
