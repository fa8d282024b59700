/**
 * A minimal DER (ASN.1 Distinguished Encoding Rules) encoder: just what the local vault needs to
 * build X.509 certificates. Private to the emulator.
 */

/** Encodes a definite length (short form below 128, long form otherwise). */
function encodeLength(length: number): Buffer {
  if (length < 0x80) {
    return Buffer.from([length]);
  }
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) {
    bytes.unshift(rest & 0xff);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/**
 * Encodes one TLV with the given identifier octet.
 * @param tag - the identifier octet (class, constructed bit and number)
 * @param contents - the value octets
 * @returns the encoded element
 */
export function derElement(tag: number, contents: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(contents.length), contents]);
}

/**
 * SEQUENCE of already encoded elements.
 * @param elements - the encoded members
 * @returns the encoded SEQUENCE
 */
export function derSequence(...elements: Uint8Array[]): Buffer {
  return derElement(0x30, Buffer.concat(elements));
}

/**
 * SET of already encoded elements (callers pass one element or elements in DER order).
 * @param elements - the encoded members
 * @returns the encoded SET
 */
export function derSet(...elements: Uint8Array[]): Buffer {
  return derElement(0x31, Buffer.concat(elements));
}

/**
 * Non-negative INTEGER from a small number or from big-endian unsigned bytes.
 * @param value - the integer
 * @returns the encoded INTEGER
 */
export function derInteger(value: number | Uint8Array): Buffer {
  let bytes: Buffer;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`DER integer out of range: ${value}`);
    }
    const digits: number[] = [];
    for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) {
      digits.unshift(rest & 0xff);
    }
    bytes = Buffer.from(digits);
  } else {
    bytes = Buffer.from(value);
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) {
    start++;
  }
  bytes = bytes.subarray(start);
  if (bytes.length === 0) {
    bytes = Buffer.from([0]);
  }
  // A set high bit would read as negative: prefix a zero octet.
  if (bytes[0]! & 0x80) {
    bytes = Buffer.concat([Buffer.from([0]), bytes]);
  }
  return derElement(0x02, bytes);
}

/**
 * BOOLEAN.
 * @param value - the boolean
 * @returns the encoded BOOLEAN
 */
export function derBoolean(value: boolean): Buffer {
  return derElement(0x01, Buffer.from([value ? 0xff : 0x00]));
}

/**
 * OBJECT IDENTIFIER from its dotted form.
 * @param dotted - for example `"1.2.840.10045.4.3.2"`
 * @returns the encoded OBJECT IDENTIFIER
 */
export function derObjectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split(".").map((arc) => Number.parseInt(arc, 10));
  if (arcs.length < 2 || arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0)) {
    throw new RangeError(`Invalid object identifier: ${dotted}`);
  }
  const bytes: number[] = [];
  const [first, second, ...rest] = arcs as [number, number, ...number[]];
  for (const arc of [first * 40 + second, ...rest]) {
    const chunk: number[] = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
      chunk.unshift(0x80 | (value & 0x7f));
    }
    bytes.push(...chunk);
  }
  return derElement(0x06, Buffer.from(bytes));
}

/**
 * BIT STRING.
 * @param bytes - the bits, most significant first
 * @param unusedBits - number of unused bits in the last octet (0..7)
 * @returns the encoded BIT STRING
 */
export function derBitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  return derElement(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/**
 * BIT STRING of named bits (bit 0 is the most significant bit of the first octet), with trailing
 * zero bits removed as DER requires.
 * @param bits - the numbers of the bits that are set
 * @returns the encoded BIT STRING
 */
export function derNamedBits(bits: number[]): Buffer {
  if (bits.length === 0) {
    return derBitString(Buffer.alloc(0));
  }
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) {
    bytes[Math.floor(bit / 8)]! |= 0x80 >> (bit % 8);
  }
  return derBitString(bytes, 7 - (highest % 8));
}

/**
 * OCTET STRING.
 * @param bytes - the octets
 * @returns the encoded OCTET STRING
 */
export function derOctetString(bytes: Uint8Array): Buffer {
  return derElement(0x04, bytes);
}

/**
 * UTF8String.
 * @param text - the text
 * @returns the encoded UTF8String
 */
export function derUtf8String(text: string): Buffer {
  return derElement(0x0c, Buffer.from(text, "utf8"));
}

/**
 * A certificate validity time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5).
 * @param date - the instant (seconds precision)
 * @returns the encoded time
 */
export function derTime(date: Date): Buffer {
  const pad = (value: number): string => String(value).padStart(2, "0");
  const year = date.getUTCFullYear();
  const rest =
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds()) +
    "Z";
  if (year >= 1950 && year < 2050) {
    return derElement(0x17, Buffer.from(pad(year % 100) + rest, "ascii"));
  }
  return derElement(0x18, Buffer.from(String(year).padStart(4, "0") + rest, "ascii"));
}

/**
 * Context-specific EXPLICIT tag around one encoded element, such as `[0]` or `[3]`.
 * @param tagNumber - the tag number (0..30)
 * @param element - the encoded element
 * @returns the tagged element
 */
export function derExplicit(tagNumber: number, element: Uint8Array): Buffer {
  return derElement(0xa0 | tagNumber, element);
}

/**
 * Context-specific IMPLICIT primitive tag, such as GeneralName `[2] dNSName` or `[7] iPAddress`.
 * @param tagNumber - the tag number (0..30)
 * @param contents - the value octets of the underlying type
 * @returns the tagged element
 */
export function derImplicit(tagNumber: number, contents: Uint8Array): Buffer {
  return derElement(0x80 | tagNumber, contents);
}
