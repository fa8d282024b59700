import assert from "node:assert/strict";
import fc from "fast-check";
import { maskMarker, SecretMasker } from "../../../src/inject/secretMasker.js";

/** Writes the chunks through a masker and collects what comes out. */
async function mask(values: string[], chunks: Array<string | Buffer>): Promise<string> {
  const masker = new SecretMasker(values);
  const output: Buffer[] = [];
  masker.on("data", (chunk: Buffer) => output.push(chunk));
  const ended = new Promise((resolve) => masker.on("end", resolve));
  for (const chunk of chunks) masker.write(chunk);
  masker.end();
  await ended;
  return Buffer.concat(output).toString("utf8");
}

/** Splits text into byte chunks at the given cut points. */
function cut(text: string, points: number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of sorted) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks.filter((chunk) => chunk.length > 0);
}

describe("SecretMasker", () => {
  it("replaces every occurrence of each value with the marker", async () => {
    const out = await mask(
      ["hunter22", "s3cr3t-token"],
      ["a hunter22 b s3cr3t-token c hunter22\n"],
    );
    assert.equal(out, `a ${maskMarker} b ${maskMarker} c ${maskMarker}\n`);
    // The marker the README promises.
    assert.equal(maskMarker, "<concealed by keyvault-secrets>");
  });

  it("masks a value split across chunks, byte by byte", async () => {
    const text = "password=correct-horse; done";
    const out = await mask(
      ["correct-horse"],
      [...Buffer.from(text)].map((b) => Buffer.from([b])),
    );
    assert.equal(out, `password=${maskMarker}; done`);
  });

  it("masks a value whose UTF-8 bytes are split inside a character", async () => {
    const value = "pässwörd-ünïcode";
    const bytes = Buffer.from(`x ${value} y`);
    const out = await mask([value], [bytes.subarray(0, 4), bytes.subarray(4)]);
    assert.equal(out, `x ${maskMarker} y`);
  });

  it("holds back only what could still be a value, and releases a prefix that is not one", async () => {
    const masker = new SecretMasker(["abcdefgh"]);
    const seen: string[] = [];
    masker.on("data", (chunk: Buffer) => seen.push(chunk.toString()));
    masker.write("hello abcd");
    await new Promise(setImmediate);
    assert.deepEqual(seen, ["hello "]);
    masker.write("XYZ");
    await new Promise(setImmediate);
    assert.deepEqual(seen, ["hello ", "abcdXYZ"]);
    masker.end("abcdefg");
    await new Promise((resolve) => masker.on("end", resolve));
    assert.equal(seen.join(""), "hello abcdXYZabcdefg", "a partial value at the end is flushed");
  });

  it("prefers the longest value and does not mask a shorter one while a longer may match", async () => {
    const out = await mask(
      ["secret-one", "secret-one-two"],
      ["x secret-one", "-two y secret-one z"],
    );
    assert.equal(out, `x ${maskMarker} y ${maskMarker} z`);
  });

  it("leaves values shorter than 6 characters alone", async () => {
    const out = await mask(["12345", "abcdef"], ["12345 abcdef"]);
    assert.equal(out, `12345 ${maskMarker}`);
  });

  it("gives the same output however the stream is cut, and never lets a value through", () =>
    fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.stringMatching(/^[a-c]{6,9}$/), { minLength: 1, maxLength: 3 }),
        fc.array(fc.oneof(fc.stringMatching(/^[a-c ]{0,5}$/), fc.nat(2)), { maxLength: 12 }),
        fc.array(fc.nat(200), { maxLength: 10 }),
        async (values, pieces, points) => {
          const text = pieces
            .map((p) => (typeof p === "number" ? values[p % values.length] : p))
            .join("");
          const whole = await mask(values, [text]);
          assert.equal(await mask(values, cut(text, points)), whole);
          for (const value of values) assert.ok(!whole.includes(value), `${value} in ${whole}`);
        },
      ),
      { numRuns: 300 },
    ));
});
