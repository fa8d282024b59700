/**
 * Bearer authentication of the local vault: the challenge, tokens it issues itself (JWT HS256
 * signed with a per-vault key), their verification under `strictAuth`, and the CAE claims
 * challenge. Verification results are cached per token string so the hot path does one map lookup.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
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
import type { AcceptedHost } from "./hosts.js";

/** The audience every Key Vault token carries. */
export const vaultResource = "https://vault.azure.net";

/** The names of the real service: answered exactly as the service does. */
const serviceDomain = ".vault.azure.net";

/**
 * The resource the vault challenges a request with, from the `Host` it was addressed by.
 *
 * Every official client (JavaScript, Python, .NET, Java, Go) checks that the challenge's resource
 * is a parent domain of the host it called (Python and Go compare the port too). The service's
 * `https://vault.azure.net` passes only for `*.vault.azure.net` on port 443. So a vault addressed
 * as the service (an IP address such as 127.0.0.1, `localhost`, or a `*.vault.azure.net` name)
 * answers as the service does, and one addressed by a name with a parent domain
 * (`myvault.localhost:8443`) challenges with that parent, port included
 * (`https://localhost:8443`): verification passes in every client, and the identity endpoint
 * issues tokens for it.
 * @param host - the accepted `Host`
 * @param scheme - the vault's scheme
 * @returns the resource, without a trailing slash
 */
export function challengeResource(host: AcceptedHost, scheme: "http" | "https"): string {
  const { hostname, authority } = host;
  if (!challengesWithParent(hostname)) return vaultResource;
  // The authority after the name: ":port" when the port is not the scheme's default.
  const parent = hostname.slice(hostname.indexOf(".") + 1);
  return `${scheme}://${parent}${authority.slice(hostname.length)}`;
}

/**
 * Whether a vault reached by this name challenges with the name's parent domain (a name with a
 * parent that is not the service's), so that clients verifying the challenge accept it.
 * @param hostname - a host name as in URLs (lower case, IPv6 in brackets)
 * @returns true for names such as `myvault.localhost`
 */
export function challengesWithParent(hostname: string): boolean {
  const name = hostname.toLowerCase();
  return (
    isIP(name) === 0 && !name.startsWith("[") && name.includes(".") && !name.endsWith(serviceDomain)
  );
}

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
  /** Why the token is refused, if it is: the error, given the challenge of the request. */
  refusal?: (challenge: string) => VaultError;
  /** Whether the token was requested with claims (it satisfies a claims challenge). */
  hasClaims: boolean;
  /** Whether this token was already answered with a claims challenge. */
  challenged: boolean;
  /** Whether this token already answered a claims challenge (its own or another's). */
  answered: boolean;
  /** The `aud` claim without a trailing slash (undefined when the token is not checked). */
  audience?: string;
}

/** A claims challenge the vault sent and no token has answered yet. */
interface OpenChallenge {
  /** The claims it asked for (JSON). */
  claims: string;
  /** When it was sent, epoch milliseconds. */
  sentAtMs: number;
}

/** A challenge no token answered within this long is forgotten (its client gave up). */
const openChallengeLifetimeMs = 30_000;

/** Settings of {@link VaultAuth}. */
export interface VaultAuthSettings {
  signingKey: Buffer;
  tenantId: string;
  strict: boolean;
  claimsChallenge: boolean;
}

/** Issues and checks bearer tokens for one vault. */
export class VaultAuth {
  private readonly issuer: string;
  private readonly verdicts = new Map<string, TokenVerdict>();
  /** Claims challenges not answered yet, oldest first, by the token they were sent for. */
  private readonly openChallenges = new Map<TokenVerdict, OpenChallenge>();
  private readonly encodedHeader = base64urlJson({ alg: "HS256", typ: "JWT" });

  /**
   * Creates the authenticator.
   * @param settings - signing key, tenant and modes
   */
  constructor(private readonly settings: VaultAuthSettings) {
    this.issuer = `https://sts.windows.net/${settings.tenantId}/`;
  }

  /**
   * The `WWW-Authenticate` value of a 401 that asks for a token.
   * @param resource - the resource challenged (see {@link challengeResource})
   * @returns the header value
   */
  challenge(resource: string = vaultResource): string {
    return `Bearer authorization="https://login.microsoftonline.com/${this.settings.tenantId}", resource="${resource}"`;
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
   * Mints a token for the managed identity endpoint. A client that was sent a claims challenge
   * asks that endpoint for a new token (the App Service protocol has no way to pass the claims):
   * while a challenge is open, the endpoint's tokens carry its claims, so the vault accepts what
   * it asked for.
   * @param audience - `aud` claim (a resource, without `/.default`)
   * @returns the token and its expiry
   */
  issueForIdentityEndpoint(audience: string): AccessToken {
    return this.issue(audience, this.oldestOpenChallenge()?.claims);
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
   * @param resource - the resource the request is challenged with (see {@link challengeResource});
   * under `strict`, tokens for it or for `https://vault.azure.net` are accepted
   * @throws VaultError 401 when the request may not proceed
   */
  check(authorization: string | undefined, resource: string = vaultResource): void {
    const token = this.bearerToken(authorization, resource);
    let verdict = this.verdicts.get(token);
    if (verdict === undefined) {
      verdict = this.verify(token, this.settings.strict);
      if (this.verdicts.size >= maxCachedTokens) {
        this.verdicts.clear();
        this.openChallenges.clear();
      }
      this.verdicts.set(token, verdict);
    }
    this.enforce(verdict, resource);
    this.challengeForClaims(verdict);
  }

  /**
   * Checks that a request carries a token this vault issued (signature, issuer, audience,
   * expiry), whatever `strictAuth` says: for the routes that make the vault send requests
   * elsewhere, which no other caller may use.
   * @param authorization - the header value, if any
   * @param resource - the resource the request is challenged with, as for {@link VaultAuth.check}
   * @throws VaultError 401 when the request may not proceed
   */
  checkIssued(authorization: string | undefined, resource: string = vaultResource): void {
    // Not cached: the cache holds verdicts of the vault's own mode, which may be lenient.
    const verdict = this.verify(this.bearerToken(authorization, resource), true);
    this.enforce(verdict, resource);
  }

  private bearerToken(authorization: string | undefined, resource: string): string {
    if (
      authorization === undefined ||
      authorization.length < 8 ||
      authorization.slice(0, 7).toLowerCase() !== "bearer "
    ) {
      throw missingToken(this.challenge(resource));
    }
    return authorization.slice(7).trim();
  }

  /** Throws the 401 a verdict calls for on a request challenged with `resource`. */
  private enforce(verdict: TokenVerdict, resource: string): void {
    if (verdict.refusal !== undefined) throw verdict.refusal(this.challenge(resource));
    const { audience } = verdict;
    if (audience !== undefined && audience !== vaultResource && audience !== resource) {
      throw tokenAudienceInvalid(resource, audience, this.challenge(resource));
    }
    const now = Date.now();
    if (verdict.expiresAtMs <= now) throw tokenExpired(this.challenge(resource));
    if (verdict.notBeforeMs > now) throw tokenNotYetValid(this.challenge(resource));
  }

  /**
   * Under `claimsChallenge`: a token without claims gets one claims challenge; a token with claims
   * answers the oldest open challenge, and the challenged token sent again (a credential with no
   * new token to give: a cached managed identity token) is let through, as before, and answers
   * its own.
   */
  private challengeForClaims(verdict: TokenVerdict): void {
    if (!this.settings.claimsChallenge) return;
    if (verdict.hasClaims || verdict.challenged) {
      if (!verdict.answered) {
        verdict.answered = true;
        const answered = verdict.hasClaims ? this.oldestOpenChallenge()?.verdict : verdict;
        if (answered !== undefined) this.openChallenges.delete(answered);
      }
      return;
    }
    verdict.challenged = true;
    const now = Date.now();
    const nbf = Math.floor(now / 1000);
    this.openChallenges.set(verdict, { claims: claimsOfChallenge(nbf), sentAtMs: now });
    throw claimsRequired(claimsChallengeHeader(nbf));
  }

  private verify(token: string, strict: boolean): TokenVerdict {
    const verdict: TokenVerdict = {
      expiresAtMs: Infinity,
      notBeforeMs: 0,
      hasClaims: false,
      challenged: false,
      answered: false,
    };
    const parts = token.split(".");
    const payload = parts.length === 3 ? decodeJson(parts[1]) : undefined;
    verdict.hasClaims = typeof payload?.xms_claims === "string" && payload.xms_claims !== "";
    if (!strict) return verdict;

    const refuse = (refusal: (challenge: string) => VaultError): TokenVerdict => {
      verdict.refusal = refusal;
      return verdict;
    };
    if (payload === undefined) return refuse(tokenMalformed);
    const expected = Buffer.from(this.sign(`${parts[0]}.${parts[1]}`));
    const actual = Buffer.from(parts[2]);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      return refuse(tokenSignatureInvalid);
    }
    if (payload.iss !== this.issuer) {
      const found = String(payload.iss);
      return refuse((challenge) => tokenIssuerInvalid(this.issuer, found, challenge));
    }
    // The audience is checked per request: which resources are accepted depends on the Host.
    verdict.audience = resourceOfScope(String(payload.aud));
    verdict.expiresAtMs = typeof payload.exp === "number" ? payload.exp * 1000 : 0;
    if (payload.nbf !== undefined) {
      // A start that is not a number makes the token never valid, as a missing expiry does.
      verdict.notBeforeMs = typeof payload.nbf === "number" ? payload.nbf * 1000 : Infinity;
    }
    return verdict;
  }

  /** The oldest claims challenge no token has answered yet; older ones than the lifetime go. */
  private oldestOpenChallenge(): (OpenChallenge & { verdict: TokenVerdict }) | undefined {
    const now = Date.now();
    for (const [verdict, challenge] of this.openChallenges) {
      if (now - challenge.sentAtMs <= openChallengeLifetimeMs) return { ...challenge, verdict };
      this.openChallenges.delete(verdict);
    }
    return undefined;
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
  const claims = Buffer.from(claimsOfChallenge(nbf)).toString("base64");
  return `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="${claims}"`;
}

/** The claims (JSON) a challenge asks for: a token issued at `nbf` or later. */
function claimsOfChallenge(nbf: number): string {
  return JSON.stringify({ access_token: { nbf: { essential: true, value: String(nbf) } } });
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
