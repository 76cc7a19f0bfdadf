import assert from "node:assert/strict";
import { lineTap, type OutputLine } from "./line_tap.ts";
import { MAX_PROGRESS_BYTES, ProgressCap } from "./progress_cap.ts";

/** Feeds `chunks` through a tap; returns the bytes that passed and the lines told. */
async function tap(chunks: readonly (string | Uint8Array)[], maxChars?: number) {
  const lines: OutputLine[] = [];
  const encoder = new TextEncoder();
  const source = ReadableStream.from(
    chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c),
  );
  const tapped = source.pipeThrough(lineTap((line) => void lines.push(line), maxChars));
  const passed = new Uint8Array(await new Response(tapped).arrayBuffer());
  return { passed, lines };
}

Deno.test("lineTap() passes every byte through unchanged, whatever it tells", async () => {
  const bytes = new Uint8Array([0x61, 0xff, 0x0a, 0x1b, 0x5b, 0x31, 0x6d, 0x0d, 0x00, 0xe2, 0x82]);
  const { passed } = await tap([bytes.subarray(0, 4), bytes.subarray(4)]);
  assert.deepEqual(passed, bytes);
});

Deno.test("lineTap() splits at LF, CRLF and lone CR, also across chunks, and skips empty lines", async () => {
  const { lines } = await tap(["a\r", "\nb\n\n", "c\rd", "\r", "e"]);
  assert.deepEqual(lines.map((l) => l.line), ["a", "b", "c", "d", "e"]);
});

Deno.test("lineTap() makes control characters and invalid UTF-8 harmless, and keeps tabs", async () => {
  const forged = "x\u0000y\u0085z\u007f\u001b[31mred\u001b[0m\tend";
  const { lines } = await tap([forged, new Uint8Array([0x0a, 0xff, 0xfe, 0x41, 0x0a])]);
  assert.deepEqual(lines.map((l) => l.line), ["x\ufffdy\ufffdz\ufffdred\tend", "\ufffd\ufffdA"]);
});

Deno.test("lineTap() cuts a long line once, never inside a surrogate pair, then skips to its end", async () => {
  const { lines } = await tap(["ab\u{1F600}cdef", "gh", "ij\nnext\n"], 3);
  assert.deepEqual(lines, [{ line: "ab", cut: true }, { line: "nex", cut: true }]);
  const whole = await tap(["abc\n"], 3);
  assert.deepEqual(whole.lines, [{ line: "abc", cut: false }]);
});

Deno.test("lineTap() holds no more than a line's worth of text however long the line", async () => {
  const chunk = "z".repeat(64 * 1024);
  const chunks = Array.from({ length: 64 }, () => chunk);
  const { lines, passed } = await tap([...chunks, "\nlast"]);
  assert.equal(passed.length, 64 * chunk.length + 5);
  assert.deepEqual(lines.map((l) => [l.line.length, l.cut]), [[1024, true], [4, false]]);
});

Deno.test("lineTap() stops telling once told false, and still passes every byte", async () => {
  const told: string[] = [];
  const source = ReadableStream.from([new TextEncoder().encode("a\nb\nc\n")]);
  const tapped = source.pipeThrough(lineTap((l) => {
    told.push(l.line);
    return told.length < 2;
  }));
  assert.equal(await new Response(tapped).text(), "a\nb\nc\n");
  assert.deepEqual(told, ["a", "b"]);
});

Deno.test("ProgressCap counts bytes too: multibyte text reaches the byte cap before the line cap", () => {
  const cap = new ProgressCap();
  const line = "\u00e9".repeat(1000); // 2,000 bytes
  let kept = 0;
  while (cap.take(line) === "keep") kept++;
  assert.equal(kept, Math.floor(MAX_PROGRESS_BYTES / 2000));
  assert.equal(cap.truncated, true);
  assert.equal(cap.take("x"), "drop");
  assert.equal(cap.mark(), "drop");
});
