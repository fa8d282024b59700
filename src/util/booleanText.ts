/** Words read as true, lower case. */
const trueWords = new Set(["true", "1", "yes", "on"]);
/** Words read as false, lower case. */
const falseWords = new Set(["false", "0", "no", "off"]);

/** The grammar of {@link parseBooleanText}, for messages: what to write instead. */
export const booleanTextGrammar = "true or false (also 1/0, yes/no, on/off)";

/**
 * Reads a boolean written as text (an environment variable): `true`/`false`, `1`/`0`, `yes`/`no`,
 * `on`/`off`, in any case, around spaces. One grammar for every variable that holds a boolean.
 *
 * @param text - the text
 * @returns the boolean, or undefined when the text is none of those words (an empty text included:
 *   the caller decides whether that means unset)
 */
export function parseBooleanText(text: string): boolean | undefined {
  const word = text.trim().toLowerCase();
  if (trueWords.has(word)) return true;
  if (falseWords.has(word)) return false;
  return undefined;
}

/**
 * Reads a true/false environment variable with the grammar of {@link parseBooleanText}.
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
  if (text === undefined || text.trim() === "") return undefined;
  const value = parseBooleanText(text);
  if (value === undefined) {
    throw new TypeError(
      `${name} must be ${booleanTextGrammar}, in any case (unset or empty: the default).`,
    );
  }
  return value;
}
