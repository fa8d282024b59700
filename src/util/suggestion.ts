/**
 * "Did you mean ...?": the closest of a few known words to a mistyped one, by edit distance, and
 * the message of a command line that names an unknown option.
 */

/**
 * The known word closest to a mistyped one, when it is close enough to be what was meant: at most
 * one edit for words of up to four characters, two up to eight, three beyond (an edit is a
 * character added, removed, changed, or two neighbours swapped), compared without regard to case.
 *
 * @param word - What was typed.
 * @param candidates - The known words.
 * @returns The closest candidate (the first of equals), or `undefined` when none is close enough.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const typed = word.toLowerCase();
  const allowed = typed.length <= 4 ? 1 : typed.length <= 8 ? 2 : 3;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance <= allowed && (best === undefined || distance < best.distance)) {
      best = { candidate, distance };
    }
  }
  return best?.candidate;
}

/**
 * The message for an option a command does not know, with the closest known one:
 * `Unknown option --prefx (did you mean --prefix?).`
 *
 * @param option - The option as typed, with its dashes (`--prefx`, `-x`).
 * @param flags - The command's long options, without dashes (`prefix`, `names`, ...).
 * @returns The message.
 */
export function unknownOptionMessage(option: string, flags: Iterable<string>): string {
  const long = /^--([^=]+)/.exec(option)?.[1];
  const match = long === undefined ? undefined : closestMatch(long, flags);
  return `Unknown option ${option}${match === undefined ? "" : ` (did you mean --${match}?)`}.`;
}

/**
 * The message for an error of `node:util`'s `parseArgs`: for an unknown option, the option and the
 * closest known one ({@link unknownOptionMessage}); otherwise the parser's own message.
 *
 * @param error - What `parseArgs` threw.
 * @param flags - The command's long options, without dashes.
 * @returns The message.
 */
export function parseArgsErrorMessage(error: unknown, flags: Iterable<string>): string {
  const message = String((error as Error | null)?.message);
  if ((error as { code?: unknown } | null)?.code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    return message;
  }
  const option = /'([^']+)'/.exec(message)?.[1];
  return option === undefined ? message : unknownOptionMessage(option, flags);
}

// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.
function editDistance(a: string, b: string): number {
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, beforePrevious[j - 2]! + 1);
      }
      current.push(distance);
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length]!;
}
