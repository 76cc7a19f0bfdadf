import assert from "node:assert/strict";
import fc from "fast-check";
import { type Line, LineReader } from "./lines.ts";

/** A stream that hands over `bytes` cut at the given offsets. */
function chunked(bytes: Uint8Array, cuts: readonly number[]): ReadableStream<Uint8Array> {
  const ends = [...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const end of [...ends, bytes.length]) {
    parts.push(bytes.slice(from, end));
    from = end;
  }
  return ReadableStream.from(parts);
}

async function all(reader: LineReader): Promise<Line[]> {
  const lines: Line[] = [];
  for (let next = await reader.next(); next !== undefined; next = await reader.next()) {
    lines.push(next);
  }
  return lines;
}

Deno.test("LineReader reads the same lines however the bytes are cut, multi-byte characters too", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.string({ unit: "grapheme", maxLength: 12 }).map((s) => s.replace(/\n/g, ""))),
      fc.array(fc.nat(400)),
      async (lines, cuts) => {
        const bytes = new TextEncoder().encode(lines.map((l) => l + "\n").join(""));
        const read = await all(new LineReader(chunked(bytes, cuts), 1000));
        assert.deepEqual(read, lines.map((line) => ({ line })));
      },
    ),
  );
});

Deno.test("LineReader keeps a byte-order mark wherever the bytes are cut", async () => {
  const bytes = new TextEncoder().encode("\uFEFFa\n\uFEFFb\n");
  for (const cut of [0, 3, 4, 5, 6, 7]) {
    const read = await all(new LineReader(chunked(bytes, [cut]), 10));
    assert.deepEqual(read, [{ line: "\uFEFFa" }, { line: "\uFEFFb" }], `cut at ${cut}`);
  }
});

Deno.test("LineReader refuses a line over the cap that arrives whole in one read", async () => {
  const bytes = new TextEncoder().encode("x".repeat(11) + "\nfits\n" + "y".repeat(10) + "\n");
  const read = await all(new LineReader(chunked(bytes, []), 10));
  assert.deepEqual(read, [{ tooLong: true }, { line: "fits" }, { line: "y".repeat(10) }]);
});

Deno.test("LineReader drops an oversized line, reads on after it, and decodes bad bytes as U+FFFD", async () => {
  const bytes = new Uint8Array([
    ...new TextEncoder().encode("ok\n" + "x".repeat(50) + "\nafter\n"),
    0xff,
    0x41,
    0x0a,
    // Bytes after the last newline are no line: the writer never finished it.
    0x42,
  ]);
  const read = await all(new LineReader(chunked(bytes, [1, 7, 20, 58]), 10));
  assert.deepEqual(read, [
    { line: "ok" },
    { tooLong: true },
    { line: "after" },
    { line: "\uFFFDA" },
  ]);
});
