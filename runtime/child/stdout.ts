/**
 * How a fenced child writes to the launcher: whole lines on stdout.
 *
 * @module
 */

/** Where the bytes go: the child's stdout, or a stand-in in tests. */
export interface Output {
  writeSync(bytes: Uint8Array): number;
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * A reply at most this long may be written from the child's own thread: a quarter of a Linux
 * pipe's 64 KiB buffer.
 */
export const SYNC_REPLY_BYTES = 16 * 1024;

/** Writes all of `bytes` with awaited writes: the event loop keeps running while the pipe is full. */
export async function writeAwaited(bytes: Uint8Array, out: Output = Deno.stdout): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await out.write(bytes.subarray(written));
}

/**
 * Writes one reply line whole. An awaited `Deno.stdout.write` hands the write to a blocking
 * thread and wakes the child when it is done, two thread switches per reply; a reply of at most
 * {@linkcode SYNC_REPLY_BYTES} is written from this thread instead when the request sent nothing
 * else on the pipe (`quiet`: no progress lines). The launcher reads everything a child writes for
 * one request before it sends the next, so such a reply finds the pipe empty and never blocks.
 * Anything else is awaited: a launcher that stopped reading must never stop this thread, whose
 * SIGTERM listener has to run to kill the host command (sudo relays the launcher's SIGTERM there).
 *
 * @example Writes every byte even when the output takes a few at a time
 * ```ts
 * import assert from "node:assert/strict";
 * const taken: number[] = [];
 * const out = {
 *   writeSync: (b: Uint8Array) => (taken.push(...b.subarray(0, 2)), Math.min(2, b.length)),
 *   write: () => Promise.reject(new Error("not used for a short quiet reply")),
 * };
 * await writeReply(new Uint8Array([1, 2, 3, 4, 5]), true, out);
 * assert.deepEqual(taken, [1, 2, 3, 4, 5]);
 * ```
 */
export async function writeReply(
  bytes: Uint8Array,
  quiet: boolean,
  out: Output = Deno.stdout,
): Promise<void> {
  if (!quiet || bytes.length > SYNC_REPLY_BYTES) return await writeAwaited(bytes, out);
  // No await on this path: every byte is written before the call returns.
  let written = 0;
  while (written < bytes.length) written += out.writeSync(bytes.subarray(written));
}
