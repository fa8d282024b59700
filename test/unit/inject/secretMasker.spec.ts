import assert from "node:assert/strict";
import { inspect } from "node:util";
import fc from "fast-check";
import { maskedForms, maskMarker, SecretMasker } from "../../../src/inject/secretMasker.js";

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

/** What the masker should print, found without streaming: each run of overlapping occurrences as one marker. */
function coverOccurrences(values: string[], text: string): string {
  const occurrences: Array<[number, number]> = [];
  for (const value of values) {
    for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + 1)) {
      occurrences.push([at, at + value.length - 1]);
    }
  }
  occurrences.sort((a, b) => a[0] - b[0]);
  let out = "";
  let next = 0;
  for (let index = 0; index < occurrences.length;) {
    const from = occurrences[index]![0];
    let to = occurrences[index]![1];
    for (index++; index < occurrences.length && occurrences[index]![0] <= to; index++) {
      to = Math.max(to, occurrences[index]![1]);
    }
    out += text.slice(next, from) + maskMarker;
    next = to + 1;
  }
  return out + text.slice(next);
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

  it("conceals overlapping values whole: one cannot show through the end of another", async () => {
    const out = await mask(["abcdefgh", "efghijkl"], ["x abcdefghijkl y efghijkl z"]);
    assert.equal(out, `x ${maskMarker} y ${maskMarker} z`);
  });

  it("conceals exactly the bytes that occurrences cover, overlapping ones as one", () =>
    fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.stringMatching(/^[ab]{6,9}$/), { minLength: 1, maxLength: 3 }),
        fc.stringMatching(/^[ab ]{0,60}$/),
        fc.array(fc.nat(80), { maxLength: 6 }),
        async (values, text, points) => {
          assert.equal(await mask(values, cut(text, points)), coverOccurrences(values, text));
        },
      ),
      { numRuns: 300 },
    ));

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

  describe("the forms apps print a value in", () => {
    const pem = [
      "-----BEGIN PRIVATE KEY-----",
      "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
      "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu",
      "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ",
      "-----END PRIVATE KEY-----",
    ].join("\n");
    const body = pem.split("\n").slice(1, -1);

    it("masks each line of a multi-line value printed line by line behind a prefix", async () => {
      const printed = `${pem
        .split("\n")
        .map((line) => `2026-01-01T00:00:00Z app[42]: ${line}`)
        .join("\n")}\n`;
      const out = await mask([pem], [printed]);
      for (const line of body) assert.ok(!out.includes(line), `line shown: ${out}`);
      assert.match(out, /app\[42\]: <concealed by keyvault-secrets>\n/);
    });

    it("masks a value with CRLF lines and indentation, re-indented by the app", async () => {
      const value = body.map((line) => `  ${line}`).join("\r\n");
      const out = await mask([value], [body.map((line) => `\t> ${line}`).join("\n")]);
      for (const line of body) assert.ok(!out.includes(line), out);
    });

    it("masks a value inside util.inspect output, where quotes, backslashes and newlines are escaped", async () => {
      const value = `it's a "quoted" back\\slash\ttab`;
      const printed = [
        inspect({ password: value }),
        inspect({ pem }),
        inspect({ nested: { deep: [value] } }, { depth: 5 }),
      ].join("\n");
      const out = await mask([value, pem], [printed]);
      assert.ok(!out.includes("quoted"), out);
      assert.ok(!out.includes("slash"), out);
      for (const line of body) assert.ok(!out.includes(line), out);
    });

    it("masks a value inside a JSON string (escaped)", async () => {
      const value = 'p"ss\\w\nord/\u0001!';
      const printed = JSON.stringify({ user: "me", password: value, key: pem });
      const out = await mask([value, pem], [printed]);
      assert.equal(out, `{"user":"me","password":"${maskMarker}","key":"${maskMarker}"}`);
    });

    it("masks a value inside a URL, percent-encoded or as a form field", async () => {
      const value = "p@ss w/rd&more=1+ü";
      const printed = [
        `https://user:${encodeURIComponent(value)}@db.example/x`,
        `https://db.example/x?${new URLSearchParams({ password: value }).toString()}`,
      ].join("\n");
      const out = await mask([value], [printed]);
      assert.equal(
        out,
        `https://user:${maskMarker}@db.example/x\nhttps://db.example/x?password=${maskMarker}`,
      );
    });

    it("leaves out forms shorter than 6 characters: short lines of a value stay visible", () => {
      const forms = maskedForms("first-line\nab\n  third-line  ");
      assert.ok(forms.includes("first-line"));
      assert.ok(forms.includes("third-line"));
      assert.ok(!forms.includes("ab"));
      assert.ok(forms.every((form) => form.length >= 6));
    });

    it("lists a one-line value as it is and in each escaped form, not trimmed", () => {
      assert.deepEqual(maskedForms(' back\\slash "q" ü ').sort(), [
        ' back\\\\slash "q" ü ',
        ' back\\\\slash \\"q\\" ü ',
        ' back\\slash "q" ü ',
        "%20back%5Cslash%20%22q%22%20%C3%BC%20",
        "+back%5Cslash+%22q%22+%C3%BC+",
      ]);
    });

    it("leaves out every form of a short line, even an encoded one of 6 characters or more", () => {
      const forms = maskedForms("first-line\nüü");
      assert.ok(!forms.includes(encodeURIComponent("üü")), forms.join(" | "));
      assert.ok(forms.includes("first-line"));
    });

    it("masks a long multi-line value that util.inspect prints on one line", async () => {
      // Its lines are too short to be masked on their own: only the whole escaped form hides it.
      const value = "abc\ndef\n".repeat(20);
      const out = await mask([value], [inspect({ value }, { breakLength: Infinity })]);
      assert.equal(out, `{ value: '${maskMarker}' }`);
    });

    it("masks a value longer than util.inspect's default string limit, printed whole", async () => {
      // Both quotes and a tab: inspect's form differs from the JSON one.
      const value = `it's "x"\t${"a".repeat(10_000)}`;
      const out = await mask([value], [inspect({ value }, { maxStringLength: Infinity })]);
      assert.equal(out, `{\n  value: \`${maskMarker}\`\n}`);
    });

    it("masks every form however the stream is cut", () =>
      fc.assert(
        fc.asyncProperty(fc.array(fc.nat(2_000), { maxLength: 12 }), async (points) => {
          const value = 'line "one" of it\nline two\\';
          const text = [
            `prefix ${value} suffix`,
            inspect({ value }),
            JSON.stringify({ value }),
            `https://h/?v=${encodeURIComponent(value)}`,
            pem,
          ].join("\n");
          const whole = await mask([value, pem], [text]);
          assert.equal(await mask([value, pem], cut(text, points)), whole);
          for (const form of [...maskedForms(value), ...maskedForms(pem)]) {
            assert.ok(!whole.includes(form), `${form} in ${whole}`);
          }
        }),
        { numRuns: 200 },
      ));

    it("masks a long value written a byte at a time, and one broken off near its end", async () => {
      const value = `${"k".repeat(20_000)}-end`;
      const text = `a ${value} b ${value.slice(0, -1)}X c`;
      const out = await mask(
        [value],
        [...Buffer.from(text)].map((byte) => Buffer.from([byte])),
      );
      assert.equal(out, `a ${maskMarker} b ${value.slice(0, -1)}X c`);
    });
  });
});

describe("SecretMasker: overlaps and streaming", () => {
  /** Writes each chunk and collects what comes out before the stream ends. */
  async function passedOnBeforeEnd(values: string[], chunks: string[]): Promise<string> {
    const masker = new SecretMasker(values);
    const output: Buffer[] = [];
    masker.on("data", (chunk: Buffer) => output.push(chunk));
    for (const chunk of chunks) masker.write(chunk);
    await new Promise((resolve) => setImmediate(resolve));
    const passed = Buffer.concat(output).toString("utf8");
    masker.destroy();
    return passed;
  }

  it("passes output through unchanged when no value is long enough to mask", async () => {
    assert.equal(await mask(["12345", ""], ["12345 and more"]), "12345 and more");
  });

  it("conceals two values that share one byte as one", async () => {
    assert.equal(await mask(["abcdef", "fghijk"], ["abcdefghijk"]), maskMarker);
  });

  it("finds a value inside a longer one that might still match, and keeps the byte between values", async () => {
    const values = ["abcdef", "fXghijklmnop", "ghijkl"];
    assert.equal(await mask(values, ["abcdefXghijklQ"]), `${maskMarker}X${maskMarker}Q`);
  });

  it("never lets the start of a longer value out while it may still match", async () => {
    assert.equal(await mask(["abcdef", "zabcdefg"], ["zabcdefg!"]), `${maskMarker}!`);
  });

  it("passes on a value's marker, and what follows it, before the stream ends", async () => {
    assert.equal(await passedOnBeforeEnd(["abcdef"], ["a abcdef b"]), `a ${maskMarker} b`);
  });

  it("passes on a value's marker at once while a value overlapping it may still follow", async () => {
    assert.equal(await passedOnBeforeEnd(["abcdef", "fghijk"], ["x abcdefg"]), `x ${maskMarker}`);
  });
});
