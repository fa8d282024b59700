/**
 * Decoding of path segments and query strings, tolerant as the service is.
 */

/**
 * Decodes a percent-encoded text, leaving it as sent when it is not valid.
 * @param text - the raw text
 * @returns the decoded text
 */
export function safeDecode(text: string): string {
  if (!text.includes("%") && !text.includes("+")) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/**
 * Decodes the name segment of a path.
 * @param segment - the raw segment
 * @returns the name
 */
export function decodeName(segment: string): string {
  return segment.includes("%") ? safeDecode(segment) : segment;
}
