/**
 * Whether a value is a plain JSON-like object: not null, not an array.
 *
 * @param value - Anything.
 * @returns True for an object whose fields can be read by name.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
