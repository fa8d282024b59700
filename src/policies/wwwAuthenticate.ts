import { isRecord } from "../util/guards.js";

/** One challenge of a `WWW-Authenticate` header: its scheme and its parameters. */
export interface AuthenticationChallenge {
  /** The scheme as sent (compare case-insensitively). */
  scheme: string;
  /** Parameters by lower-case name; the first occurrence of a name wins. */
  parameters: Record<string, string>;
}

/** The parameters of a `Bearer` challenge that Key Vault authentication uses. */
export interface BearerChallenge {
  /** The authority URL (`authorization` parameter), e.g. `https://login.windows.net/{tenant}`. */
  authorization?: string;
  /** The authority URL as sent in CAE challenges (`authorization_uri` parameter). */
  authorizationUri?: string;
  /** The resource the token is for, e.g. `https://vault.azure.net`. */
  resource?: string;
  /** The scope the token is for, e.g. `https://vault.azure.net/.default`. */
  scope?: string;
  /** The base64 claims of a continuous access evaluation challenge (still encoded). */
  claims?: string;
  /** The error code, e.g. `insufficient_claims`. */
  error?: string;
  /** The realm (unused by Key Vault, kept for completeness). */
  realm?: string;
}

// RFC 7230 `tchar`: the characters an auth-scheme or a parameter name may contain.
const tokenCharacter = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

function isWhitespace(character: string | undefined): boolean {
  return character === " " || character === "\t" || character === "\r" || character === "\n";
}

/**
 * Parses a `WWW-Authenticate` header value into its challenges (RFC 7235), leniently: parameters
 * may be separated by commas or only by whitespace, values may be quoted (with `\` escapes, and
 * then contain commas, spaces and `=`) or unquoted (up to the next comma or whitespace), and
 * anything that cannot be parsed is skipped rather than reported, because a malformed header must
 * lead to "no challenge", never to an exception.
 *
 * @param header - The header value; several challenges (or several headers joined by `, `) allowed.
 * @returns The challenges in header order; empty for an empty or unparseable header.
 */
export function parseWwwAuthenticate(header: string | undefined | null): AuthenticationChallenge[] {
  const challenges: AuthenticationChallenge[] = [];
  if (typeof header !== "string") {
    return challenges;
  }
  let current: AuthenticationChallenge | undefined;
  let position = 0;

  const readToken = (): string => {
    const start = position;
    while (position < header.length && tokenCharacter.test(header[position]!)) {
      position++;
    }
    return header.slice(start, position);
  };
  const skipWhitespace = (): void => {
    while (isWhitespace(header[position])) {
      position++;
    }
  };
  const readValue = (): string => {
    if (header[position] === '"') {
      position++;
      let value = "";
      while (position < header.length && header[position] !== '"') {
        if (header[position] === "\\" && position + 1 < header.length) {
          position++;
        }
        value += header[position];
        position++;
      }
      // Skip the closing quote; an unterminated string simply runs to the end of the header.
      position++;
      return value;
    }
    const start = position;
    while (
      position < header.length &&
      header[position] !== "," &&
      !isWhitespace(header[position])
    ) {
      position++;
    }
    return header.slice(start, position);
  };

  while (position < header.length) {
    // Commas and whitespace separate both parameters and challenges.
    while (
      position < header.length &&
      (header[position] === "," || isWhitespace(header[position]))
    ) {
      position++;
    }
    if (position >= header.length) {
      break;
    }
    const name = readToken();
    if (name === "") {
      // Not a token (a stray quote, "=", or other garbage): skip one character so the loop always
      // advances, and let the next token start over.
      position++;
      continue;
    }
    skipWhitespace();
    if (header[position] === "=") {
      position++;
      skipWhitespace();
      const value = readValue();
      const key = name.toLowerCase();
      // A parameter before any scheme belongs to no challenge and is dropped.
      if (current !== undefined && !Object.prototype.hasOwnProperty.call(current.parameters, key)) {
        current.parameters[key] = value;
      }
    } else {
      current = { scheme: name, parameters: Object.create(null) as Record<string, string> };
      challenges.push(current);
    }
  }
  return challenges;
}

/**
 * Finds the `Bearer` challenge of a `WWW-Authenticate` header and returns its Key Vault parameters.
 *
 * @param header - The header value.
 * @returns The first `Bearer` challenge that carries any parameter Key Vault uses (else the first
 *   `Bearer` challenge), or `undefined` when there is none.
 */
export function parseBearerChallenge(
  header: string | undefined | null,
): BearerChallenge | undefined {
  const bearers = parseWwwAuthenticate(header).filter(
    (challenge) => challenge.scheme.toLowerCase() === "bearer",
  );
  const known = ["authorization", "authorization_uri", "resource", "scope", "claims", "error"];
  const chosen =
    bearers.find((challenge) => known.some((name) => challenge.parameters[name] !== undefined)) ??
    bearers[0];
  if (chosen === undefined) {
    return undefined;
  }
  const parameters = chosen.parameters;
  const result: BearerChallenge = {};
  const copy = (name: string, target: keyof BearerChallenge): void => {
    const value = parameters[name];
    if (value !== undefined) {
      result[target] = value;
    }
  };
  copy("authorization", "authorization");
  copy("authorization_uri", "authorizationUri");
  copy("resource", "resource");
  copy("scope", "scope");
  copy("claims", "claims");
  copy("error", "error");
  copy("realm", "realm");
  return result;
}

/**
 * Decodes the `claims` parameter of a continuous access evaluation challenge: base64 or base64url,
 * with or without padding, holding a JSON object.
 *
 * @param encoded - The parameter value as sent.
 * @returns The claims JSON text, or `undefined` when the value is not base64 of a JSON object.
 */
export function decodeClaims(encoded: string): string | undefined {
  const compact = encoded.replace(/\s+/g, "");
  // Some identity providers send the JSON itself; accept it rather than fail the request.
  if (compact.startsWith("{")) {
    return isJsonObject(encoded) ? encoded : undefined;
  }
  const base64 = compact.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (base64 === "" || !/^[A-Za-z0-9+/]+$/.test(base64) || base64.length % 4 === 1) {
    return undefined;
  }
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  let text: string;
  try {
    const binary = atob(padded);
    const bytes = Uint8Array.from(binary, (character) => character.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return isJsonObject(text) ? text : undefined;
}

function isJsonObject(text: string): boolean {
  try {
    return isRecord(JSON.parse(text));
  } catch {
    return false;
  }
}
