import assert from "node:assert/strict";
import { ChunkReader } from "./chunks.ts";

Deno.test("ChunkReader reads on as the end after a cancel that answered a pending read", async () => {
  const stream = new ReadableStream<Uint8Array>({ type: "bytes" });
  const reader = new ChunkReader(stream);
  const pending = reader.read();
  await reader.cancel();
  assert.equal(await pending, undefined);
  // The cancelled read took the buffer and gave none back: this threw "detached ArrayBuffer".
  assert.equal(await reader.read(), undefined);
});

Deno.test("ChunkReader fails every read after a stream error with that error", async () => {
  const stream = new ReadableStream<Uint8Array>({
    type: "bytes",
    pull(controller) {
      controller.error(new Error("pipe broke"));
    },
  });
  const reader = new ChunkReader(stream);
  await assert.rejects(() => reader.read(), /pipe broke/);
  // The failed read kept the buffer: this threw a TypeError on a detached ArrayBuffer.
  await assert.rejects(() => reader.read(), /pipe broke/);
});

Deno.test("ChunkReader reads a direct source into one reused buffer, up to its end", async () => {
  const parts = [new TextEncoder().encode("ab"), new TextEncoder().encode("cde")];
  const buffers = new Set<ArrayBufferLike>();
  const source = {
    read(buffer: Uint8Array): Promise<number | null> {
      buffers.add(buffer.buffer);
      const part = parts.shift();
      if (part === undefined) return Promise.resolve(null);
      buffer.set(part);
      return Promise.resolve(part.length);
    },
    close() {},
  };
  const reader = new ChunkReader(source);
  assert.equal(new TextDecoder().decode(await reader.read()), "ab");
  assert.equal(new TextDecoder().decode(await reader.read()), "cde");
  assert.equal(await reader.read(), undefined);
  // Read no more after the end: a source may not be asked again.
  assert.equal(await reader.read(), undefined);
  assert.equal(buffers.size, 1);
});

Deno.test("ChunkReader drops what a direct source read after a cancel, which closes it", async () => {
  let answer: (count: number) => void = () => {};
  let closed = 0;
  const source = {
    read(buffer: Uint8Array): Promise<number | null> {
      buffer.set([1, 2, 3]);
      return new Promise((resolve) => answer = resolve);
    },
    close: () => void closed++,
  };
  const reader = new ChunkReader(source);
  const pending = reader.read();
  await reader.cancel();
  assert.equal(closed, 1);
  answer(3);
  assert.equal(await pending, undefined);
  assert.equal(await reader.read(), undefined);
});
