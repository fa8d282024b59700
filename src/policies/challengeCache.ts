/** What a vault's authentication challenge said: the token scope and the tenant to ask for it. */
export interface ChallengeState {
  /** The token scope, e.g. `https://vault.azure.net/.default`. */
  scope: string;
  /** The tenant named by the challenge's authority URL, if any. */
  tenantId?: string;
}

// Process-wide on purpose: a vault's challenge does not depend on the client, so a new client for a
// vault this process already talked to can send its token on the first request and save the 401
// round trip. Keyed by origin only, so what one vault said is never applied to another.
const challengesByOrigin = new Map<string, ChallengeState>();

function cacheKey(origin: string): string {
  return origin.toLowerCase();
}

/**
 * Looks up the challenge remembered for a vault.
 *
 * @param origin - The vault origin, e.g. `https://myvault.vault.azure.net`.
 * @returns The remembered challenge, or `undefined` when this process has not seen one.
 */
export function getCachedChallenge(origin: string): ChallengeState | undefined {
  const state = challengesByOrigin.get(cacheKey(origin));
  // A copy, so that no caller can change what other clients will use.
  return state === undefined ? undefined : { ...state };
}

/**
 * Remembers the challenge of a vault for every client in this process.
 *
 * @param origin - The vault origin.
 * @param state - The scope and tenant the vault asked for.
 */
export function setCachedChallenge(origin: string, state: ChallengeState): void {
  challengesByOrigin.set(cacheKey(origin), { ...state });
}

/** Forgets every remembered challenge. A test hook: production code never needs it. */
export function clearChallengeCache(): void {
  challengesByOrigin.clear();
}
