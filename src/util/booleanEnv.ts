/**
 * The one grammar of true/false environment variables: `1/0`, `true/false`, `yes/no`, `on/off`, in
 * any case; unset or empty (blank) means "not set".
 */

const trueWords = ["1", "true", "yes", "on"];
const falseWords = ["0", "false", "no", "off"];

/**
 * Reads a true/false environment variable.
 *
 * @param name - The variable's name, for the message.
 * @param text - Its value (`process.env[name]`).
 * @returns `true` or `false`, or `undefined` when the variable is unset or blank.
 * @throws TypeError naming the variable and the accepted words for any other value (the value
 *   itself is not repeated: a variable may hold something that was never meant to be shown).
 */
export function parseBooleanEnvironment(
  name: string,
  text: string | undefined,
): boolean | undefined {
  const word = text?.trim().toLowerCase();
  if (word === undefined || word === "") return undefined;
  if (trueWords.includes(word)) return true;
  if (falseWords.includes(word)) return false;
  throw new TypeError(
    `${name} must be true or false: one of ${trueWords.join(", ")} (true) or ${falseWords.join(", ")} (false), in any case (unset or empty: the default).`,
  );
}
