/**
 * Bearer authentication of the local vault: the challenge, tokens it issues itself (JWT HS256
 * signed with a per-vault key), their verification under `strictAuth`, and the CAE claims
 * challenge. Verification results are cached per token string so the hot path does one map lookup.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import {
  type VaultError,
  claimsRequired,
  missingToken,
  tokenAudienceInvalid,
  tokenExpired,
  tokenIssuerInvalid,
  tokenMalformed,
  tokenNotYetValid,
  tokenSignatureInvalid,
} from "../wire/errors.js";

/** The audience every Key Vault token carries. */
export const vaultResource = "https://vault.azure.net";

/** Lifetime of issued tokens. */
const tokenLifetimeSeconds = 3600;

/** A bound on the verification cache so a client minting tokens in a loop cannot grow it forever. */
const maxCachedTokens = 10_000;

/** Client id the local vault reports for its managed identity and puts in issued tokens. */
export const localClientId = "11111111-1111-1111-1111-111111111111";

interface TokenVerdict {
  /** Expiry in epoch milliseconds (Infinity when the token is not checked). */
  expiresAtMs: number;
  /** Start of validity (`nbf`) in epoch milliseconds (0 when the token is not checked). */
  notBeforeMs: number;
  /** Why the token is refused, if it is. */
  error?: VaultError;
  /** Whether the token was requested with claims (it satisfies a claims challenge). */
  hasClaims: boolean;
  /** Whether this token was already answered with a claims challenge. */
  challenged: boolean;
}

/** Settings of {@link VaultAuth}. */
export interface VaultAuthSettings {
  signingKey: Buffer;
  tenantId: string;
  strict: boolean;
  claimsChallenge: boolean;
}

/** Issues and checks bearer tokens for one vault. */
export class VaultAuth {
  /** The `WWW-Authenticate` value of every 401 that asks for a token. */
  readonly challenge: string;
  private readonly issuer: string;
  private readonly verdicts = new Map<string, TokenVerdict>();
  private readonly encodedHeader = base64urlJson({ alg: "HS256", typ: "JWT" });

  /**
   * Creates the authenticator.
   * @param settings - signing key, tenant and modes
   */
  constructor(private readonly settings: VaultAuthSettings) {
    this.challenge = `Bearer authorization="https://login.microsoftonline.com/${settings.tenantId}", resource="${vaultResource}"`;
    this.issuer = `https://sts.windows.net/${settings.tenantId}/`;
  }

  /**
   * Mints a token signed by this vault.
   * @param audience - `aud` claim (a resource, without `/.default`)
   * @param claims - claims the caller asked for (answer to a claims challenge), if any
   * @returns the token and its expiry
   */
  issue(audience: string, claims?: string): AccessToken {
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      aud: audience,
      iss: this.issuer,
      iat: now,
      nbf: now,
      exp: now + tokenLifetimeSeconds,
      tid: this.settings.tenantId,
      appid: localClientId,
      oid: localClientId,
      sub: localClientId,
      jti: randomUUID(),
    };
    if (claims !== undefined && claims !== "") payload.xms_claims = claims;
    const unsigned = `${this.encodedHeader}.${base64urlJson(payload)}`;
    return {
      token: `${unsigned}.${this.sign(unsigned)}`,
      expiresOnTimestamp: (now + tokenLifetimeSeconds) * 1000,
      tokenType: "Bearer",
    };
  }

  /**
   * A credential that mints tokens in-process; its tokens pass `strictAuth`.
   * @returns the credential
   */
  credential(): TokenCredential {
    return {
      getToken: async (scopes: string | string[], options?: GetTokenOptions) => {
        const scope = Array.isArray(scopes) ? (scopes[0] ?? vaultResource) : scopes;
        return this.issue(resourceOfScope(scope), options?.claims);
      },
    };
  }

  /**
   * Checks the `Authorization` header of a request.
   * @param authorization - the header value, if any
   * @throws VaultError 401 when the request may not proceed
   */
  check(authorization: string | undefined): void {
    const token = this.bearerToken(authorization);
    let verdict = this.verdicts.get(token);
    if (verdict === undefined) {
      verdict = this.verify(token, this.settings.strict);
      if (this.verdicts.size >= maxCachedTokens) this.verdicts.clear();
      this.verdicts.set(token, verdict);
    }
    this.enforce(verdict);
    if (this.settings.claimsChallenge && !verdict.hasClaims && !verdict.challenged) {
      verdict.challenged = true;
      throw claimsRequired(claimsChallengeHeader(Math.floor(Date.now() / 1000)));
    }
  }

  /**
   * Checks that a request carries a token this vault issued (signature, issuer, audience,
   * expiry), whatever `strictAuth` says: for the routes that make the vault send requests
   * elsewhere, which no other caller may use.
   * @param authorization - the header value, if any
   * @throws VaultError 401 when the request may not proceed
   */
  checkIssued(authorization: string | undefined): void {
    this.enforce(this.verify(this.bearerToken(authorization), true));
  }

  private bearerToken(authorization: string | undefined): string {
    if (
      authorization === undefined ||
      authorization.length < 8 ||
      authorization.slice(0, 7).toLowerCase() !== "bearer "
    ) {
      throw missingToken(this.challenge);
    }
    return authorization.slice(7).trim();
  }

  private enforce(verdict: TokenVerdict): void {
    if (verdict.error !== undefined) throw verdict.error;
    const now = Date.now();
    if (verdict.expiresAtMs <= now) throw tokenExpired(this.challenge);
    if (verdict.notBeforeMs > now) throw tokenNotYetValid(this.challenge);
  }

  private verify(token: string, strict: boolean): TokenVerdict {
    const verdict: TokenVerdict = {
      expiresAtMs: Infinity,
      notBeforeMs: 0,
      hasClaims: false,
      challenged: false,
    };
    const parts = token.split(".");
    const payload = parts.length === 3 ? decodeJson(parts[1]) : undefined;
    verdict.hasClaims = typeof payload?.xms_claims === "string" && payload.xms_claims !== "";
    if (!strict) return verdict;

    const refuse = (error: VaultError): TokenVerdict => {
      verdict.error = error;
      return verdict;
    };
    if (payload === undefined) return refuse(tokenMalformed(this.challenge));
    const expected = Buffer.from(this.sign(`${parts[0]}.${parts[1]}`));
    const actual = Buffer.from(parts[2]);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      return refuse(tokenSignatureInvalid(this.challenge));
    }
    if (payload.iss !== this.issuer) {
      return refuse(tokenIssuerInvalid(this.issuer, String(payload.iss), this.challenge));
    }
    if (payload.aud !== vaultResource && payload.aud !== `${vaultResource}/`) {
      return refuse(tokenAudienceInvalid(vaultResource, String(payload.aud), this.challenge));
    }
    verdict.expiresAtMs = typeof payload.exp === "number" ? payload.exp * 1000 : 0;
    if (payload.nbf !== undefined) {
      // A start that is not a number makes the token never valid, as a missing expiry does.
      verdict.notBeforeMs = typeof payload.nbf === "number" ? payload.nbf * 1000 : Infinity;
    }
    return verdict;
  }

  private sign(unsigned: string): string {
    return createHmac("sha256", this.settings.signingKey).update(unsigned).digest("base64url");
  }
}

/**
 * The `WWW-Authenticate` value of a CAE claims challenge.
 * @param nbf - Unix seconds the new token must not be issued before
 * @returns the header value
 */
export function claimsChallengeHeader(nbf: number): string {
  const claims = Buffer.from(
    JSON.stringify({ access_token: { nbf: { essential: true, value: String(nbf) } } }),
  ).toString("base64");
  return `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="${claims}"`;
}

/**
 * The resource a scope or resource string names (`https://vault.azure.net/.default` →
 * `https://vault.azure.net`).
 * @param scope - scope or resource
 * @returns the resource
 */
export function resourceOfScope(scope: string): string {
  let resource = scope;
  if (resource.endsWith("/.default")) resource = resource.slice(0, -"/.default".length);
  while (resource.endsWith("/")) resource = resource.slice(0, -1);
  return resource;
}

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
