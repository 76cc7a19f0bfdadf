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

Deno.test("readCapped keeps a cap's worth of one-byte chunks inside a fenced child's heap", async () => {
  // A host command that writes its output a byte at a time, slowly, is read a byte per read
  // (checked over a pipe: 19,699 reads for 20,000 one-byte writes). 700,000 such bytes through
  // runHostCommand killed a process with the child's heap flags (64 MiB old space): each kept
  // byte was an array of its own.
  const { CHILD_HEAP_FLAGS } = await import("./child_command.ts");
  const script = `
    import { readCapped } from ${JSON.stringify(import.meta.resolve("./capped_read.ts"))};
    let left = 1024 * 1024;
    const stream = new ReadableStream({
      type: "bytes",
      pull(c) {
        if (left-- > 0) return c.enqueue(new Uint8Array([120]));
        c.close();
        c.byobRequest?.respond(0);
      },
    });
    const read = await readCapped(stream, 1024 * 1024);
    if (read.bytes.length !== 1024 * 1024 || read.truncated) Deno.exit(2);
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--no-lock", CHILD_HEAP_FLAGS, script],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr).slice(-400));
});

Deno.test("readCapped's bytes are its own even when the stream's one chunk is a Buffer", async () => {
  const { Buffer } = await import("node:buffer");
  const chunk = Buffer.from("hello");
  const read = await readCapped(ReadableStream.from([chunk]), 100);
  chunk[0] = 0x4a; // "J": the source reuses its chunk, as a pooled Buffer's source may.
  assert.equal(new TextDecoder().decode(read.bytes), "hello");
});
