import { randomBytes } from "node:crypto";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";

/** A credential for tests that records every call. */
export interface FakeCredential extends TokenCredential {
  /** Every `getToken` call, in order. */
  calls: Array<{ scopes: string | string[]; options: GetTokenOptions | undefined }>;
}

/** A credential that always hands out one recognisable token. */
export interface FixedTokenCredential extends FakeCredential {
  /** The token it hands out. */
  token: string;
}

/**
 * A fake credential. Each call returns `token-<n>` (n from 1) valid for an hour, unless `issue`
 * says otherwise. It answers asynchronously, as a real credential does, so concurrent callers
 * overlap.
 * @param issue - the answer to call number n
 * @returns the credential
 */
export function fakeCredential(
  issue?: (callNumber: number, options: GetTokenOptions | undefined) => AccessToken | null,
): FakeCredential {
  const calls: FakeCredential["calls"] = [];
  return {
    calls,
    async getToken(scopes, options) {
      calls.push({ scopes, options });
      await new Promise((resolve) => setImmediate(resolve));
      if (issue !== undefined) return issue(calls.length, options);
      return { token: `token-${calls.length}`, expiresOnTimestamp: Date.now() + 3600_000 };
    },
  };
}

/**
 * A credential that hands out one fixed token (by default a random, recognisable one, so a test
 * can search output for it) and records its calls.
 * @param token - the token
 * @returns the credential
 */
export function fixedTokenCredential(
  token = `eyJtest.${randomBytes(12).toString("hex")}.sig`,
): FixedTokenCredential {
  const calls: FakeCredential["calls"] = [];
  return {
    token,
    calls,
    async getToken(scopes, options) {
      calls.push({ scopes, options });
      return { token, expiresOnTimestamp: Date.now() + 3600_000 };
    },
  };
}

/** A credential passed through, and what it was asked. */
export interface CredentialSpy {
  /** Hands every call on to the wrapped credential. */
  credential: TokenCredential;
  /** The scopes and claims of every call, in order. */
  calls: { scopes: string | string[]; claims?: string }[];
}

/**
 * Wraps a real credential (the local vault's) and records the scopes and claims of every call.
 * @param inner - the credential that answers
 * @returns the wrapper and its record
 */
export function credentialSpy(inner: TokenCredential): CredentialSpy {
  const calls: CredentialSpy["calls"] = [];
  return {
    calls,
    credential: {
      getToken(scopes, options) {
        calls.push({ scopes, claims: options?.claims });
        return inner.getToken(scopes, options);
      },
    },
  };
}
