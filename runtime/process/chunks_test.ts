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
