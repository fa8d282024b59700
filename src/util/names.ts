/** Characters that would change the request path or start a query when put into a URL path. */
const pathBreakingCharacters = /[/\\?#]/;

/** The service's rule for secret names, as messages state it. */
export const secretNameRule = "A secret name is 1 to 127 letters (a-z, A-Z), digits and dashes.";

/**
 * Checks a secret name argument: a non-empty string that stays one path segment. Other names the
 * service refuses (`a_b`, 128 characters) are sent, as 4.x sends them: the service answers 400
 * `BadParameter`, and the error's message adds {@link secretNameRule} (api/errors.ts).
 *
 * @throws TypeError when it is not a non-empty string, contains `/`, `\`, `?` or `#`, or is a dot
 *   segment; the message states the rule.
 */
export function checkSecretName(value: unknown, parameter: string): string {
  return checkPathSegment(value, parameter, ` ${secretNameRule}`);
}

/**
 * Checks a secret version argument that is not empty: a string that stays one path segment.
 *
 * @throws TypeError when it contains `/`, `\`, `?` or `#`, or is a dot segment.
 */
export function checkSecretVersion(value: string, parameter: string): string {
  return checkPathSegment(value, parameter, "");
}

function checkPathSegment(value: unknown, parameter: string, rule: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(
      `${parameter} must be a non-empty string, got ${value === "" ? "an empty string" : typeof value}.${rule}`,
    );
  }
  if (pathBreakingCharacters.test(value) || value === "." || value === "..") {
    throw new TypeError(
      `${parameter} "${value}" cannot be used: it contains a character that would change the request URL (/, \\, ?, #) or is a dot segment.${rule}`,
    );
  }
  return value;
}
