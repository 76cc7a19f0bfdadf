/**
 * How a fenced child writes to the launcher: whole, from its own thread.
 *
 * @module
 */

/** Where the bytes go: the child's stdout, or a stand-in in tests. */
export interface SyncWriter {
  writeSync(bytes: Uint8Array): number;
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * Writes all of `bytes`, synchronously while the output takes them. An awaited
 * `Deno.stdout.write` hands each write to a blocking thread and wakes this one when it is done:
 * two thread switches per reply, about 0.15 to 0.3 ms of a pooled `sensors` child's CPU per
 * request at 32 connections on our 2-core machine (see BENCHMARKS.md). The launcher reads the pipe
 * all the time, so a full pipe only waits for it. A non-blocking output (`EAGAIN`, a `WouldBlock`)
 * takes the rest through the awaited write.
 *
 * @example Writes every byte even when the output takes a few at a time
 * ```ts
 * import assert from "node:assert/strict";
 * const taken: number[] = [];
 * const out = {
 *   writeSync: (b: Uint8Array) => (taken.push(...b.subarray(0, 2)), Math.min(2, b.length)),
 *   write: () => Promise.reject(new Error("not used")),
 * };
 * await writeWhole(new Uint8Array([1, 2, 3, 4, 5]), out);
 * assert.deepEqual(taken, [1, 2, 3, 4, 5]);
 * ```
 */
export async function writeWhole(
  bytes: Uint8Array,
  out: SyncWriter = Deno.stdout,
): Promise<void> {
  let written = 0;
  try {
    while (written < bytes.length) written += out.writeSync(bytes.subarray(written));
  } catch (error) {
    if (!(error instanceof Deno.errors.WouldBlock)) throw error;
    while (written < bytes.length) written += await out.write(bytes.subarray(written));
  }
}
