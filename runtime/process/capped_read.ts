/**
 * Reading a process stream with a hard memory cap.
 *
 * @module
 */
import { ChunkReader } from "./chunks.ts";

/** What {@linkcode readCapped} kept of a stream. */
export interface CappedBytes {
  /** The first bytes, at most the cap. */
  readonly bytes: Uint8Array;
  /** How many bytes the stream produced in all. */
  readonly total: number;
  /** Whether bytes were dropped. */
  readonly truncated: boolean;
}

/** One mebibyte, the cap on each host command stream. */
export const MIB = 1024 * 1024;

/**
 * Reads a stream to its end, keeping at most `limit` bytes and discarding the rest, so a
 * flooding process can neither block on a full pipe nor grow our memory.
 *
 * @param stream The stream to drain.
 * @param limit The most bytes to keep.
 * @returns The kept bytes, the total size and whether anything was dropped.
 * @example
 * ```ts
 * import { readCapped } from "./capped_read.ts";
 * import assert from "node:assert/strict";
 * const read = await readCapped(new Blob(["abcdef"]).stream(), 4);
 * assert.equal(new TextDecoder().decode(read.bytes), "abcd");
 * assert.equal(read.truncated, true);
 * ```
 */
export async function readCapped(
  stream: ReadableStream<Uint8Array>,
  limit: number,
): Promise<CappedBytes> {
  let bytes = new Uint8Array(0);
  let used = 0;
  let total = 0;
  const chunks = new ChunkReader(stream);
  for (let chunk = await chunks.read(); chunk !== undefined; chunk = await chunks.read()) {
    total += chunk.length;
    const take = Math.min(limit - used, chunk.length);
    if (take > 0) {
      // One buffer, doubled as needed up to the cap: a chunk of its own per read cost a small
      // array each, and a cap's worth of one-byte reads outgrew a child's heap.
      if (used + take > bytes.length) {
        const grown = new Uint8Array(Math.min(limit, Math.max(used + take, 2 * bytes.length)));
        grown.set(bytes.subarray(0, used));
        bytes = grown;
      }
      // Copied: the next read takes the chunk's buffer over.
      bytes.set(chunk.subarray(0, take), used);
      used += take;
    }
  }
  return {
    bytes: used === bytes.length ? bytes : bytes.slice(0, used),
    total,
    truncated: total > used,
  };
}
