/**
 * What every benchmark process agrees on: the secrets the servers hold, the values every client
 * checks, the token and the api-version every contender sends.
 */

/** The three contenders. */
export const contenderNames = ["ours", "official", "raw"] as const;
/** One contender: our client, `@azure/keyvault-secrets`, or a raw keep-alive HTTP loop. */
export type ContenderName = (typeof contenderNames)[number];

/** The api-version every contender sends (the default of both clients). */
export const benchApiVersion = "2026-04-01";
/** The secret read by the get scenarios. */
export const getSecretName = "bench-get";
/** The value of {@link getSecretName}: 64 characters, a typical password or connection string. */
export const getSecretValue = "v".repeat(48) + "0123456789abcdef";
/** The secret written by the set scenarios (always the same name: a new version each time). */
export const setSecretName = "bench-set";
/** The value the set scenarios write. */
export const setSecretValue = "s".repeat(48) + "fedcba9876543210";
/** Items per list page, as the service answers without `maxresults`. */
export const listPageSize = 25;

/**
 * Name of the i-th secret a server lists (and a SecretCache loads).
 * @param index - from 0
 * @returns e.g. `bench-00042`
 */
export function secretName(index: number): string {
  return `bench-${String(index).padStart(5, "0")}`;
}

/**
 * The value a server holds for one of the listed secrets, which every loader checks.
 * @param name - a {@link secretName}
 * @returns its value
 */
export function secretValue(name: string): string {
  return `value of ${name}`;
}

/**
 * The token every contender sends. The fixed server and the local vault (without `strictAuth`)
 * accept any bearer token, so the credential costs nothing and is the same for everyone.
 */
export const benchToken =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
  "eyJhdWQiOiJodHRwczovL3ZhdWx0LmF6dXJlLm5ldCIsImlzcyI6ImJlbmNoIn0." +
  "YmVuY2gtc2lnbmF0dXJlLW5vdC1jaGVja2Vk";
