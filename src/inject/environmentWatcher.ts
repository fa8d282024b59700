/**
 * Watching: reads the vault again every interval and says what changed, by variable. A failed
 * read changes nothing and is reported once per failure episode, with one line when reads succeed
 * again. Shared by `run --watch` (which restarts the command) and the preload (which updates
 * `process.env`).
 */
import type { SecretCacheChangeDetail, SecretCacheChangeReason } from "../secretCache/changes.js";
import { InjectError } from "./connection.js";
import type { Reloaded } from "./environmentSource.js";
import { ReloadError } from "./vaultSecrets.js";
import { loadWarnings } from "./loadEnvironment.js";

/** What changed between the variables in use and a new read. Names, never values in the lists. */
export interface EnvironmentChange {
  /** The new variables (all of them). */
  variables: Record<string, string>;
  /** Variables new in `variables`, sorted. */
  added: string[];
  /** Variables whose value changed, sorted. */
  updated: string[];
  /** Variables no longer set (their secret was deleted, disabled, expired...), sorted. */
  removed: string[];
  /** What the vaults said changed since the last read, per secret. */
  details: SecretCacheChangeDetail[];
}

/** How an {@link EnvironmentWatcher} reads and reports. */
export interface EnvironmentWatcherOptions {
  /** Time between the end of one read and the start of the next. */
  intervalInMs: number;
  /** Reads again, all or nothing (throws {@link ReloadError} when a read failed). */
  reload(abortSignal: AbortSignal): Promise<Reloaded>;
  /** The variables in use now. */
  variables: Record<string, string>;
  /**
   * Warning lines already written (the start's); when undefined, those of the first read count as
   * written.
   */
  knownWarnings?: string[];
  /** What keeps its values while reads fail, for the warning ("the command", "process.env"). */
  holder: string;
  /** Writes one line to stderr (the caller adds its prefix). */
  warn(line: string): void;
  /** Called when a read succeeded and the variables differ from those in use. */
  onChange(change: EnvironmentChange): void;
  /**
   * Whether the timer holds the event loop open: only in a worker thread, which ends when its
   * loop is empty (the worker itself is unref'd).
   * @default false (the watcher never keeps a process alive)
   */
  holdsEventLoop?: boolean;
}

/** Reads every interval with an unref'd timer; never throws to its caller. */
export class EnvironmentWatcher {
  private timer: NodeJS.Timeout | undefined;
  private readonly controller = new AbortController();
  private failing = false;
  private variables: Record<string, string>;
  private warnings: Set<string> | undefined;

  constructor(private readonly options: EnvironmentWatcherOptions) {
    this.variables = options.variables;
    this.warnings = options.knownWarnings && new Set(options.knownWarnings);
  }

  /** Starts reading; the first read is one interval from now. */
  start(): void {
    this.schedule();
  }

  /** Stops reading; a read in flight is aborted. */
  close(): void {
    clearTimeout(this.timer);
    this.controller.abort();
  }

  private schedule(): void {
    if (this.controller.signal.aborted) return;
    this.timer = setTimeout(() => void this.poll(), this.options.intervalInMs);
    if (this.options.holdsEventLoop !== true) this.timer.unref();
  }

  private async poll(): Promise<void> {
    let reloaded: Reloaded;
    try {
      reloaded = await this.options.reload(this.controller.signal);
    } catch (error) {
      if (!this.controller.signal.aborted) this.failed(error);
      this.schedule();
      return;
    }
    if (this.controller.signal.aborted) return;
    try {
      this.succeeded(reloaded);
    } catch (error) {
      this.options.warn(`the new values could not be applied: ${describeError(error)}`);
    }
    this.schedule();
  }

  private succeeded({ result, details }: Reloaded): void {
    if (this.failing) {
      this.failing = false;
      this.options.warn("reading the vault succeeded again; the values are current.");
    }
    const lines = loadWarnings(result);
    if (this.warnings !== undefined) {
      for (const line of lines.filter((l) => !this.warnings!.has(l))) this.options.warn(line);
    }
    this.warnings = new Set(lines);
    const change = {
      variables: result.variables,
      ...diffVariables(this.variables, result.variables),
      details,
    };
    if (change.added.length + change.updated.length + change.removed.length === 0) return;
    this.variables = result.variables;
    this.options.onChange(change);
  }

  private failed(error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.options.warn(
      `reading the vault failed; ${this.options.holder} keeps the last good values until a read succeeds (one line per episode): ${error instanceof ReloadError ? error.message : describeError(error)}`,
    );
  }
}

/** An error in words: our own by its message, another by its name and message (none holds a value). */
function describeError(error: unknown): string {
  if (error instanceof InjectError) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * The variables added, updated and removed between two sets.
 * @param before - the variables in use
 * @param after - the new variables
 * @returns the keys, sorted
 */
export function diffVariables(
  before: Record<string, string>,
  after: Record<string, string>,
): { added: string[]; updated: string[]; removed: string[] } {
  const added = Object.keys(after).filter((key) => !Object.hasOwn(before, key));
  const updated = Object.keys(after).filter(
    (key) => Object.hasOwn(before, key) && before[key] !== after[key],
  );
  const removed = Object.keys(before).filter((key) => !Object.hasOwn(after, key));
  return { added: added.sort(), updated: updated.sort(), removed: removed.sort() };
}

const reasonWords: Record<SecretCacheChangeReason, string> = {
  newVersion: "new version",
  deleted: "deleted",
  disabled: "disabled",
  expired: "expired",
  notYetValid: "not yet valid",
  filteredOut: "no longer selected",
};

/**
 * A change in words, names only: `DB_PASSWORD updated, API_KEY removed (db-password: new
 * version; api-key: deleted)`.
 * @param change - the change
 * @returns the text
 */
export function describeChange(change: Omit<EnvironmentChange, "variables">): string {
  const variables = [
    ...change.added.map((key) => `${key} added`),
    ...change.updated.map((key) => `${key} updated`),
    ...change.removed.map((key) => `${key} removed`),
  ].join(", ");
  const secrets = change.details.map(
    ({ secretName, kind, reason }) =>
      `${secretName}: ${kind === "added" ? "added" : reasonWords[reason]}`,
  );
  return secrets.length === 0 ? variables : `${variables} (${secrets.join("; ")})`;
}
