/**
 * Helpers of the interop specs: the official client for a local vault and the normalisation
 * that lets its results be compared with ours field by field.
 */
import assert from "node:assert/strict";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import {
  SecretClient as OfficialSecretClient,
  type SecretClientOptions as OfficialSecretClientOptions,
} from "@azure/keyvault-secrets";
import type { LocalVault } from "../../src/emulator/index.js";

/**
 * The official `@azure/keyvault-secrets` client for a local vault (it accepts http to loopback
 * with `allowInsecureConnection`).
 * @param vault - the running vault
 * @param perCallPolicies - policies added once per call (request logs)
 * @returns the client
 */
export function officialClient(
  vault: LocalVault,
  perCallPolicies: PipelinePolicy[] = [],
): OfficialSecretClient {
  const options: OfficialSecretClientOptions = {
    disableChallengeResourceVerification: true,
    allowInsecureConnection: true,
    retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 50 },
    additionalPolicies: perCallPolicies.map((policy) => ({ policy, position: "perCall" })),
  };
  return new OfficialSecretClient(vault.vaultUrl, vault.credential, options);
}

/** How {@link normalize} treats a value. */
export interface NormalizeOptions {
  /** Strings replaced wherever they occur (secret names, versions), longest first. */
  replace?: Record<string, string>;
  /** Date fields replaced by "<date>" (set on different secrets a moment apart). */
  maskDates?: string[];
}

/**
 * A plain JSON form of a result: undefined fields dropped (the official client sets them,
 * ours omits them), Dates as ISO strings, keys sorted, and the given strings replaced.
 * @param value - a result of either client
 * @param options - replacements and masked dates
 * @returns the normalised value
 */
export function normalize(value: unknown, options: NormalizeOptions = {}): unknown {
  const replacements = Object.entries(options.replace ?? {}).sort(
    ([a], [b]) => b.length - a.length,
  );
  const masked = new Set(options.maskDates ?? []);
  const walk = (node: unknown, key: string | undefined): unknown => {
    if (node instanceof Date) {
      return key !== undefined && masked.has(key) ? "<date>" : node.toISOString();
    }
    if (typeof node === "string") {
      let text = node;
      for (const [from, to] of replacements) text = text.split(from).join(to);
      return text;
    }
    if (node instanceof Uint8Array) return Buffer.from(node).toString("base64");
    if (Array.isArray(node)) return node.map((item) => walk(item, undefined));
    if (typeof node === "object" && node !== null) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(node).sort()) {
        const v = (node as Record<string, unknown>)[k];
        if (v !== undefined) out[k] = walk(v, k);
      }
      return out;
    }
    return node;
  };
  return walk(value, undefined);
}

/** What an error looks like to a caller, for comparing the two clients. */
export interface ErrorShape {
  name: string;
  statusCode: number | undefined;
  code: string | undefined;
  message: string;
  innerCode: string | undefined;
}

/**
 * Runs an operation expected to fail and returns the error's shape.
 * @param promise - the operation
 * @returns the shape of its error
 */
export async function errorOf(promise: Promise<unknown>): Promise<ErrorShape> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof Error, "expected the operation to fail");
  const error = caught as Error & {
    statusCode?: number;
    code?: string;
    details?: { error?: { innererror?: { code?: string }; innerError?: { code?: string } } };
  };
  return {
    name: error.name,
    statusCode: error.statusCode,
    code: error.code,
    message: error.message,
    // The wire spells it `innererror`; the official client's deserialized details `innerError`.
    innerCode: error.details?.error?.innererror?.code ?? error.details?.error?.innerError?.code,
  };
}

/**
 * The replacements that map both clients' secrets onto one placeholder.
 * @param pairs - [our name, official name] and [our version, official version] pairs
 * @returns the replacement table
 */
export function placeholders(
  pairs: { ours: string | undefined; official: string | undefined; as: string }[],
): Record<string, string> {
  const table: Record<string, string> = {};
  for (const { ours, official, as } of pairs) {
    if (ours !== undefined) table[ours] = as;
    if (official !== undefined) table[official] = as;
  }
  return table;
}
