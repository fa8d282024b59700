/**
 * Masking of secret values in a byte stream (the child's stdout and stderr under `run --mask`).
 */
import { Transform, type TransformCallback } from "node:stream";
import { inspect } from "node:util";

/** What a masked value is replaced with. */
export const maskMarker = "<concealed by keyvault-secrets>";

/**
 * Values shorter than this are not masked: replacing every occurrence of a few common characters
 * would garble the output and, by what it conceals, reveal the value.
 */
export const minimumMaskedLength = 6;

/**
 * The forms in which apps print a value: as it is; each line of a multi-line value on its own (a
 * PEM key logged line by line, behind a prefix or re-indented); and each of these escaped as
 * `JSON.stringify` and `util.inspect` write strings, percent-encoded as `encodeURIComponent` does
 * and as a form or query string (`URLSearchParams`). Forms shorter than
 * {@link minimumMaskedLength} are left out.
 * @param value - a secret value
 * @returns the distinct forms
 */
export function maskedForms(value: string): string[] {
  const lines = value.includes("\n") ? value.split(/\r?\n/).map((line) => line.trim()) : [];
  const forms = new Set<string>();
  for (const text of [value, ...lines]) {
    if (text.length < minimumMaskedLength) continue;
    forms.add(text);
    forms.add(JSON.stringify(text).slice(1, -1));
    // Without a line width, inspect quotes the whole string on one line, as it does short ones.
    forms.add(inspect(text, { breakLength: Infinity, maxStringLength: Infinity }).slice(1, -1));
    forms.add(new URLSearchParams([["", text]]).toString().slice(1));
    try {
      forms.add(encodeURIComponent(text));
    } catch {
      // A lone surrogate cannot be percent-encoded, so no app prints it that way either.
    }
  }
  return [...forms].filter((form) => form.length >= minimumMaskedLength);
}

/** A stretch of the stream that occurrences cover (absolute byte positions, inclusive). */
interface CoveredRun {
  from: number;
  to: number;
  /** The marker for this run is out already (its start was passed on, the rest is dropped). */
  markerSent: boolean;
}

/**
 * Replaces the given values, in each of their {@link maskedForms}, with {@link maskMarker}, also
 * when a value is split across chunks anywhere. Every byte that an occurrence covers is concealed:
 * occurrences that overlap become one marker, so one value cannot show through the end of
 * another. Only bytes that could still begin an occurrence are held back (never more than the
 * longest form), and the work is linear in the output, however it is cut: the forms are matched
 * by one Aho-Corasick automaton, which reads each byte once.
 */
export class SecretMasker extends Transform {
  private readonly marker = Buffer.from(maskMarker);
  private readonly automaton: FormAutomaton | undefined;
  private state = 0;
  /** The position of the next byte to arrive. */
  private position = 0;
  /** The position of the first byte not yet passed on or dropped: {@link held} starts there. */
  private passed = 0;
  /** Before this position no occurrence can begin any more. */
  private decided = 0;
  private readonly held = new ByteQueue();
  /** Covered runs not passed on yet, in order, apart from each other. */
  private runs: CoveredRun[] = [];

  /**
   * Creates the transform.
   * @param values - the values to mask (forms under {@link minimumMaskedLength} characters are not)
   */
  constructor(values: Iterable<string>) {
    super();
    const forms = [...new Set([...values].flatMap(maskedForms))].map((form) => Buffer.from(form));
    this.automaton = forms.length === 0 ? undefined : new FormAutomaton(forms);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.automaton === undefined) {
      done(null, chunk);
      return;
    }
    const output: Buffer[] = [];
    this.held.push(chunk);
    const { automaton } = this;
    for (let index = 0; index < chunk.length; index++) {
      const position = this.position + index;
      this.state = automaton.step(this.state, chunk[index]!);
      const length = automaton.matchLength[this.state]!;
      if (length > 0) this.cover(position - length + 1, position);
      this.decided = position - automaton.depth[this.state]! + 1;
      this.settle(this.decided, output);
    }
    this.position += chunk.length;
    this.passRaw(Math.min(this.decided, this.runs[0]?.from ?? Infinity), output);
    done(null, output.length === 0 ? undefined : Buffer.concat(output));
  }

  override _flush(done: TransformCallback): void {
    const output: Buffer[] = [];
    this.settle(Infinity, output);
    this.passRaw(this.position, output);
    done(null, output.length === 0 ? undefined : Buffer.concat(output));
  }

  /** Records an occurrence, merging it with the runs it overlaps (always the last ones). */
  private cover(from: number, to: number): void {
    let run: CoveredRun = { from, to, markerSent: false };
    while (this.runs.length > 0 && this.runs.at(-1)!.to >= from) {
      const last = this.runs.pop()!;
      run = { from: Math.min(run.from, last.from), to, markerSent: last.markerSent };
    }
    this.runs.push(run);
  }

  /** Passes on what no later occurrence can change: runs before `decided`, and their markers. */
  private settle(decided: number, output: Buffer[]): void {
    while (this.runs.length > 0 && this.runs[0]!.to < decided) {
      const run = this.runs.shift()!;
      this.sendMarker(run, output);
      this.discard(run.to + 1);
    }
    const first = this.runs[0];
    if (first !== undefined && first.from < decided) {
      // The run goes on beyond what is decided: its marker now, its covered bytes dropped, so
      // that a long run of overlapping occurrences is never held back whole.
      this.sendMarker(first, output);
      this.discard(decided);
      first.from = decided;
    }
  }

  private sendMarker(run: CoveredRun, output: Buffer[]): void {
    this.passRaw(run.from, output);
    if (!run.markerSent) output.push(this.marker);
    run.markerSent = true;
  }

  private passRaw(until: number, output: Buffer[]): void {
    if (until > this.passed) this.held.take(until - this.passed, output);
    this.passed = Math.max(this.passed, until);
  }

  private discard(until: number): void {
    if (until > this.passed) this.held.take(until - this.passed);
    this.passed = Math.max(this.passed, until);
  }
}

/**
 * An Aho-Corasick automaton over the forms' bytes: a trie whose states are the prefixes of forms,
 * with failure links to the longest suffix that is a prefix too. A state's `depth` is how many of
 * the last bytes may still begin a form; `matchLength` is the longest form ending at that byte.
 * Children are kept as sibling lists in typed arrays (a node per byte of the forms), the root's
 * as a table.
 */
class FormAutomaton {
  readonly depth: Int32Array;
  readonly matchLength: Int32Array;
  private readonly fail: Int32Array;
  private readonly firstChild: Int32Array;
  private readonly nextSibling: Int32Array;
  private readonly byteOf: Uint8Array;
  private readonly rootChild = new Int32Array(256).fill(-1);
  private size = 1;

  constructor(forms: Buffer[]) {
    const capacity = 1 + forms.reduce((total, form) => total + form.length, 0);
    this.depth = new Int32Array(capacity);
    this.matchLength = new Int32Array(capacity);
    this.fail = new Int32Array(capacity);
    this.firstChild = new Int32Array(capacity).fill(-1);
    this.nextSibling = new Int32Array(capacity).fill(-1);
    this.byteOf = new Uint8Array(capacity);
    for (const form of forms) this.insert(form);
    this.link();
    // From the root, a byte that begins no form leads back to the root.
    for (let byte = 0; byte < 256; byte++) {
      if (this.rootChild[byte] === -1) this.rootChild[byte] = 0;
    }
  }

  /** The state after `byte` in `state`. */
  step(state: number, byte: number): number {
    for (;;) {
      if (state === 0) return this.rootChild[byte]!;
      const next = this.child(state, byte);
      if (next >= 0) return next;
      state = this.fail[state]!;
    }
  }

  private child(node: number, byte: number): number {
    if (node === 0) return this.rootChild[byte]!;
    for (let child = this.firstChild[node]!; child !== -1; child = this.nextSibling[child]!) {
      if (this.byteOf[child] === byte) return child;
    }
    return -1;
  }

  private insert(form: Buffer): void {
    let node = 0;
    for (const byte of form) {
      let next = this.child(node, byte);
      if (next < 0) {
        next = this.size++;
        this.depth[next] = this.depth[node]! + 1;
        this.byteOf[next] = byte;
        if (node === 0) {
          this.rootChild[byte] = next;
        } else {
          this.nextSibling[next] = this.firstChild[node]!;
          this.firstChild[node] = next;
        }
      }
      node = next;
    }
    this.matchLength[node] = form.length;
  }

  /** Failure links and match lengths, breadth first (a link is always to a shallower node). */
  private link(): void {
    const queue = new Int32Array(this.size);
    let tail = 0;
    for (const child of this.rootChild) if (child > 0) queue[tail++] = child;
    for (let head = 0; head < tail; head++) {
      const node = queue[head]!;
      if (this.matchLength[node] === 0)
        this.matchLength[node] = this.matchLength[this.fail[node]!]!;
      for (let child = this.firstChild[node]!; child !== -1; child = this.nextSibling[child]!) {
        const byte = this.byteOf[child]!;
        let fallback = this.fail[node]!;
        while (fallback !== 0 && this.child(fallback, byte) < 0) fallback = this.fail[fallback]!;
        this.fail[child] = Math.max(this.child(fallback, byte), 0);
        queue[tail++] = child;
      }
    }
  }
}

/** Bytes in arrival order, taken from the front without copying. */
class ByteQueue {
  private segments: Buffer[] = [];
  private first = 0;

  push(buffer: Buffer): void {
    if (buffer.length > 0) this.segments.push(buffer);
  }

  /** Removes `count` bytes from the front, into `into` when given. */
  take(count: number, into?: Buffer[]): void {
    let remaining = count;
    while (remaining > 0) {
      const head = this.segments[this.first]!;
      if (head.length <= remaining) {
        into?.push(head);
        remaining -= head.length;
        this.first++;
      } else {
        into?.push(head.subarray(0, remaining));
        this.segments[this.first] = head.subarray(remaining);
        remaining = 0;
      }
    }
    if (this.first > 32 && this.first * 2 > this.segments.length) {
      this.segments = this.segments.slice(this.first);
      this.first = 0;
    }
  }
}
