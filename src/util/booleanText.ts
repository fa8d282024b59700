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
