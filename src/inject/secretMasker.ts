/**
 * Masking of secret values in a byte stream (the child's stdout and stderr under `run --mask`).
 */
import { Transform, type TransformCallback } from "node:stream";

/** What a masked value is replaced with. */
export const maskMarker = "<concealed by keyvault-secrets>";

/**
 * Values shorter than this are not masked: replacing every occurrence of a few common characters
 * would garble the output and, by what it conceals, reveal the value.
 */
export const minimumMaskedLength = 6;

/**
 * Replaces every occurrence of the given values with {@link maskMarker}, also when a value is split
 * across chunks: bytes that could be the start of a value are held back until the next chunk
 * decides (at most the longest value's length minus one). The longest value wins where values
 * overlap, and a shorter value is not masked while a longer one could still match.
 */
export class SecretMasker extends Transform {
  private readonly marker = Buffer.from(maskMarker);
  /** Values by their first byte, longest first. */
  private readonly byFirstByte = new Map<number, Buffer[]>();
  private pending: Buffer = Buffer.alloc(0);

  /**
   * Creates the transform.
   * @param values - the values to mask (each at least {@link minimumMaskedLength} characters)
   */
  constructor(values: Iterable<string>) {
    super();
    const unique = [...new Set(values)].filter((value) => value.length >= minimumMaskedLength);
    const buffers = unique.map((value) => Buffer.from(value)).sort((a, b) => b.length - a.length);
    for (const buffer of buffers) {
      const list = this.byFirstByte.get(buffer[0]!) ?? [];
      list.push(buffer);
      this.byFirstByte.set(buffer[0]!, list);
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const output = this.scan(false);
    if (output.length > 0) this.push(output);
    done();
  }

  override _flush(done: TransformCallback): void {
    const output = this.scan(true);
    if (output.length > 0) this.push(output);
    done();
  }

  /** Masks what can be decided now; keeps a possible partial value at the end unless final. */
  private scan(final: boolean): Buffer {
    const buffer = this.pending;
    const parts: Buffer[] = [];
    let emitFrom = 0;
    let index = 0;
    scanning: while (index < buffer.length) {
      const candidates = this.byFirstByte.get(buffer[index]!);
      if (candidates !== undefined) {
        const available = buffer.length - index;
        for (const value of candidates) {
          if (available >= value.length) {
            if (buffer.compare(value, 0, value.length, index, index + value.length) === 0) {
              parts.push(buffer.subarray(emitFrom, index), this.marker);
              index += value.length;
              emitFrom = index;
              continue scanning;
            }
          } else if (!final && buffer.compare(value, 0, available, index, buffer.length) === 0) {
            // A longer value may still match: wait for more bytes before deciding anything here.
            parts.push(buffer.subarray(emitFrom, index));
            this.pending = Buffer.from(buffer.subarray(index));
            return Buffer.concat(parts);
          }
        }
      }
      index++;
    }
    parts.push(buffer.subarray(emitFrom));
    this.pending = Buffer.alloc(0);
    return Buffer.concat(parts);
  }
}
