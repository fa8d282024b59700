/**
 * What a caller can observe of a value, an error or a span, as plain data that two clients'
 * observations can be compared with: own keys (including keys holding undefined), prototypes,
 * error name/code/statusCode/details, span names, parents, attributes and status.
 */
import {
  useInstrumenter,
  type Instrumenter,
  type TracingContext,
  type TracingSpan,
} from "@azure/core-tracing";

/** Rewrites the strings that differ by construction (each client's secret names, ids, times). */
export type Normalizer = (text: string) => string;

/** A difference between the two clients' observations. */
export interface Difference {
  /** Where, e.g. `result.properties.contentType` or `spans[0].attributes.url.full`. */
  path: string;
  ours: unknown;
  official: unknown;
}

function prototypeChain(value: object): string {
  const names: string[] = [];
  for (
    let proto = Object.getPrototypeOf(value);
    proto !== null;
    proto = Object.getPrototypeOf(proto)
  ) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? "?";
    if (name === "Object") break;
    names.push(name);
  }
  return names.length === 0 ? "Object" : names.join(" < ");
}

/**
 * The observable structure of a value. Dates keep only their prototype (the two clients act a
 * moment apart), strings go through `normalize`, errors keep what callers read.
 * @param value - a result, error, page or state
 * @param normalize - the string rewriting
 * @returns plain data
 */
export function observe(value: unknown, normalize: Normalizer): unknown {
  const seen = new Set<unknown>();
  const walk = (node: unknown): unknown => {
    if (node === undefined) return "<undefined>";
    if (node === null || typeof node === "boolean" || typeof node === "number") return node;
    if (typeof node === "string") return normalize(node);
    if (typeof node === "function") return "<function>";
    if (typeof node !== "object") return `<${typeof node}>`;
    if (seen.has(node)) return "<circular>";
    seen.add(node);
    try {
      return describe(node);
    } finally {
      // Only ancestors count: the same object reached twice (an error kept in a poller's state
      // and thrown) is described both times.
      seen.delete(node);
    }
  };
  const describe = (node: object): unknown => {
    const proto = prototypeChain(node);
    if (node instanceof Date) return { "<proto>": proto };
    if (node instanceof Uint8Array) return { "<proto>": proto };
    if (node instanceof Error) {
      const error = node as Error & Record<string, unknown>;
      return {
        "<proto>": proto,
        "<ownKeys>": Object.keys(error).sort(),
        name: error.name,
        message: normalize(error.message),
        code: walk(error["code"]),
        statusCode: walk(error["statusCode"]),
        details: walk(error["details"]),
      };
    }
    const out: Record<string, unknown> = { "<proto>": proto };
    if (Array.isArray(node)) {
      out["<items>"] = node.map(walk);
      for (const key of Object.keys(node)
        .filter((k) => !/^\d+$/.test(k))
        .sort()) {
        out[key] = walk((node as unknown as Record<string, unknown>)[key]);
      }
      return out;
    }
    for (const key of Object.keys(node).sort()) {
      out[key] = walk((node as Record<string, unknown>)[key]);
    }
    return out;
  };
  return walk(value);
}

/**
 * Every difference between two observations, by path.
 * @param ours - our client's observation
 * @param official - the official client's observation
 * @param path - the path of these observations
 * @returns the differences, empty when they agree
 */
export function differences(ours: unknown, official: unknown, path = ""): Difference[] {
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (Array.isArray(ours) && Array.isArray(official)) {
    if (ours.length !== official.length) {
      const lengths: Difference = {
        path: `${path}.length`,
        ours: ours.length,
        official: official.length,
      };
      return [lengths].concat(
        ours.length < official.length
          ? ours.flatMap((o, i) => differences(o, official[i], `${path}[${i}]`))
          : official.flatMap((o, i) => differences(ours[i], o, `${path}[${i}]`)),
      );
    }
    return ours.flatMap((o, i) => differences(o, official[i], `${path}[${i}]`));
  }
  if (isRecord(ours) && isRecord(official)) {
    const keys = [...new Set([...Object.keys(ours), ...Object.keys(official)])].sort();
    return keys.flatMap((key) => {
      const sub = path === "" ? key : `${path}.${key}`;
      if (!(key in ours)) return [{ path: sub, ours: "<absent>", official: official[key] }];
      if (!(key in official)) return [{ path: sub, ours: ours[key], official: "<absent>" }];
      return differences(ours[key], official[key], sub);
    });
  }
  return JSON.stringify(ours) === JSON.stringify(official) ? [] : [{ path, ours, official }];
}

/** A span as the test instrumenter saw it. */
export interface RecordedSpan {
  name: string;
  parent: string | undefined;
  /** Identifies the span within a recording (not compared). */
  id: number;
  /** The id of the parent span (not compared). */
  parentId: number | undefined;
  attributes: Record<string, unknown>;
  status: string | undefined;
  ended: boolean;
}

const recordedSpanKey = Symbol("recordedSpan");

/** An immutable context that carries values through core-tracing. */
function createContext(): TracingContext {
  const context: TracingContext = {
    getValue: () => undefined,
    setValue: (key, value) => withValue(context, key, value),
    deleteValue: () => context,
  };
  return context;
}

function withValue(parent: TracingContext, key: symbol, value: unknown): TracingContext {
  const context: TracingContext = {
    getValue: (k) => (k === key ? value : parent.getValue(k)),
    setValue: (k, v) => withValue(context, k, v),
    deleteValue: (k) => withValue(context, k, undefined),
  };
  return context;
}

/**
 * Installs an instrumenter (core-tracing's `useInstrumenter`) that records every span of both
 * clients: name, parent span name, attributes, status.
 * @returns the recorded spans (cleared by the caller between runs) and a function that stops
 *   recording
 */
export function recordSpans(): { spans: RecordedSpan[]; stop: () => void } {
  const spans: RecordedSpan[] = [];
  let recording = true;
  let nextId = 1;
  const instrumenter: Instrumenter = {
    startSpan(name, spanOptions) {
      const parentContext = spanOptions?.tracingContext ?? createContext();
      const parent = parentContext.getValue(recordedSpanKey) as RecordedSpan | undefined;
      const recorded: RecordedSpan = {
        name,
        parent: parent?.name,
        id: nextId++,
        parentId: parent?.id,
        attributes: { ...(spanOptions?.spanAttributes ?? {}) },
        status: undefined,
        ended: false,
      };
      if (recording) spans.push(recorded);
      const span: TracingSpan = {
        end: () => {
          recorded.ended = true;
        },
        setAttribute: (key, value) => {
          recorded.attributes[key] = value;
        },
        setStatus: (status) => {
          recorded.status = status.status;
        },
        recordException: () => undefined,
        isRecording: () => recording,
      };
      return { span, tracingContext: parentContext.setValue(recordedSpanKey, recorded) };
    },
    withContext: (_context, callback, ...args) => callback(...args),
    parseTraceparentHeader: () => undefined,
    createRequestHeaders: () => ({}),
  };
  useInstrumenter(instrumenter);
  return {
    spans,
    stop: () => {
      recording = false;
    },
  };
}

/**
 * The spans as compared: grouped under their top-level span (a poll and its HTTP request),
 * groups in start order, a group identical to the one before it dropped (how many times a poller
 * finds the operation still running depends on timing, not on the client; two polling loops
 * may interleave), and the ids left out.
 * @param spans - the recorded spans, in start order
 * @param observeSpan - turns a span (without its ids) into its compared form
 * @returns the compared forms
 */
export function comparableSpans(
  spans: RecordedSpan[],
  observeSpan: (span: Omit<RecordedSpan, "id" | "parentId">) => unknown,
): unknown[] {
  const byId = new Map(spans.map((span) => [span.id, span]));
  const rootOf = (span: RecordedSpan): number => {
    let current = span;
    for (;;) {
      const parent = current.parentId === undefined ? undefined : byId.get(current.parentId);
      if (parent === undefined) return current.id;
      current = parent;
    }
  };
  const groups = new Map<number, unknown[]>();
  for (const span of spans) {
    const { id: _id, parentId: _parentId, ...visible } = span;
    const root = rootOf(span);
    if (!groups.has(root)) groups.set(root, []);
    groups.get(root)!.push(observeSpan(visible));
  }
  const ordered = [...groups.values()];
  return ordered
    .filter((group, i) => i === 0 || JSON.stringify(group) !== JSON.stringify(ordered[i - 1]))
    .flat();
}
