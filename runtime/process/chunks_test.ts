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
