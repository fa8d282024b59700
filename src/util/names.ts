/** Characters that would change the request path or start a query when put into a URL path. */
const pathBreakingCharacters = /[/\\?#]/;

/**
 * Checks a secret name (or version) argument: a non-empty string that stays one path segment.
 *
 * @throws TypeError when it is not a non-empty string, contains `/`, `\`, `?` or `#`, or is a dot
 *   segment.
 */
export function checkSecretName(value: unknown, parameter: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(
      `${parameter} must be a non-empty string, got ${value === "" ? "an empty string" : typeof value}.`,
    );
  }
  if (pathBreakingCharacters.test(value) || value === "." || value === "..") {
    throw new TypeError(
      `${parameter} "${value}" cannot be used: it contains a character that would change the request URL (/, \\, ?, #) or is a dot segment.`,
    );
  }
  return value;
}
