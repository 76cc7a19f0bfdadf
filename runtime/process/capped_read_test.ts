import assert from "node:assert/strict";
import { readCapped } from "./capped_read.ts";

/** `bytes` in parts of `size`, as a byte stream (as Deno's pipes are) or one of plain chunks. */
function streamOf(
  bytes: Uint8Array,
  size: number,
  kind: "bytes" | "chunks",
): ReadableStream<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(bytes.slice(at, at + size));
  if (kind === "chunks") return ReadableStream.from(parts);
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      const part = parts.shift();
      if (part !== undefined) return controller.enqueue(part);
      controller.close();
      controller.byobRequest?.respond(0);
    },
  });
}

Deno.test("readCapped keeps every byte up to the cap and counts the rest, over both stream kinds", async () => {
  const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) % 251);
  for (const kind of ["bytes", "chunks"] as const) {
    for (const size of [1_000, 16 * 1024, 40_000]) {
      for (const limit of [0, 1, 16 * 1024, 50_000, 99_999, 100_000, 200_000]) {
        const read = await readCapped(streamOf(bytes, size, kind), limit);
        const kept = Math.min(limit, bytes.length);
        const what = `${kind}, parts of ${size}, cap ${limit}`;
        assert.deepEqual(read.bytes, bytes.subarray(0, kept), what);
        assert.equal(read.total, bytes.length, what);
        assert.equal(read.truncated, limit < bytes.length, what);
      }
    }
  }
});

Deno.test("readCapped reads an empty stream as no bytes", async () => {
  for (const kind of ["bytes", "chunks"] as const) {
    const read = await readCapped(streamOf(new Uint8Array(), 1, kind), 10);
    assert.deepEqual(read, { bytes: new Uint8Array(), total: 0, truncated: false });
  }
});

Deno.test("readCapped reads a real pipe whole, past the size of one read", async () => {
  const child = new Deno.Command("head", {
    args: ["-c", "200000", "/dev/zero"],
    stdout: "piped",
  }).spawn();
  const read = await readCapped(child.stdout, 150_000);
  await child.status;
  assert.equal(read.total, 200_000);
  assert.equal(read.bytes.length, 150_000);
  assert.ok(read.bytes.every((b) => b === 0));
  assert.equal(read.truncated, true);
});
