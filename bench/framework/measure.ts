/** How every scenario measures: contenders taking turns, and medians. */

/**
 * The median of some figures.
 * @param values - at least one
 * @returns the middle one, or the mean of the two middle ones
 */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** How many turns: the unmeasured ones (warm-up) come first and are not kept. */
export interface Turns {
  measured: number;
  unmeasured?: number;
}

/**
 * Every contender takes one go per turn, in order (A B C A B C ...), so that the drift of a shared
 * machine hits all alike.
 * @param contenders - who takes turns
 * @param turns - how many turns, measured and not
 * @param go - one go; `turn` counts from 0 for the first measured turn (negative before it)
 * @returns each contender's measured results, in the order run
 */
export async function takeTurns<C, R>(
  contenders: readonly C[],
  turns: Turns,
  go: (contender: C, turn: number) => R | Promise<R>,
): Promise<Map<C, R[]>> {
  const results = new Map<C, R[]>(contenders.map((contender) => [contender, []]));
  for (let turn = -(turns.unmeasured ?? 0); turn < turns.measured; turn++) {
    for (const contender of contenders) {
      const result = await go(contender, turn);
      if (turn >= 0) results.get(contender)!.push(result);
    }
  }
  return results;
}
