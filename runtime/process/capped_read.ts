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
  const kept: Uint8Array[] = [];
  let used = 0;
  let total = 0;
  const chunks = new ChunkReader(stream);
  for (let chunk = await chunks.read(); chunk !== undefined; chunk = await chunks.read()) {
    total += chunk.length;
    const room = limit - used;
    if (room > 0) {
      const take = Math.min(room, chunk.length);
      // Copy: the next read overwrites the chunk.
      kept.push(chunk.slice(0, take));
      used += take;
    }
  }
  if (kept.length === 1) return { bytes: kept[0]!, total, truncated: total > used };
  const bytes = new Uint8Array(used);
  let at = 0;
  for (const part of kept) {
    bytes.set(part, at);
    at += part.length;
  }
  return { bytes, total, truncated: total > used };
}
