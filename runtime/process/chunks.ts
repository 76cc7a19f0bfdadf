/**
 * Reading a stream's bytes chunk by chunk into one reused buffer.
 *
 * @module
 */

/** Bytes one read from a byte stream takes at most. */
const READ_BYTES = 16 * 1024;

/**
 * Reads a stream chunk by chunk. A source that reads into a buffer itself (a `Deno.Conn`,
 * `Deno.stdin`) is read into one reused buffer directly. A byte stream (Deno's sockets, pipes and
 * stdin) is read into one buffer, again and again: its default reader allocates a fresh 64 KiB
 * buffer for every read, which on the bridge and child pipes is several per request for the
 * garbage collector to reclaim, and 64 KiB held by every read left pending. Such a stream's source must answer a read
 * still pending at its end (`byobRequest.respond(0)` after `close()`), as Deno's do. Other
 * streams hand over chunks of their own.
 *
 * @example
 * ```ts
 * import { ChunkReader } from "./chunks.ts";
 * import assert from "node:assert/strict";
 * const reader = new ChunkReader(new Blob(["abc"]).stream());
 * assert.equal(new TextDecoder().decode(await reader.read()), "abc");
 * assert.equal(await reader.read(), undefined);
 * ```
 */
export class ChunkReader {
  readonly #reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array> | undefined;
  readonly #source: ByteSource | undefined;
  #spare: ArrayBuffer | undefined;
  #done = false;

  /**
   * @param stream The bytes: a stream, or what reads into a buffer itself (a `Deno.Conn`,
   * `Deno.stdin`), which skips a stream's turns on every read.
   */
  constructor(stream: ReadableStream<Uint8Array> | ByteSource) {
    if (!(stream instanceof ReadableStream)) {
      this.#source = stream;
      this.#spare = new ArrayBuffer(READ_BYTES);
      return;
    }
    try {
      this.#reader = stream.getReader({ mode: "byob" });
      this.#spare = new ArrayBuffer(READ_BYTES);
    } catch {
      this.#reader = stream.getReader();
    }
  }

  /**
   * The next chunk, or `undefined` at the end (and after it). A chunk is good until the next read,
   * which takes a byte stream's buffer over (the chunk then reads as empty): copy or decode what
   * must outlive it.
   */
  async read(): Promise<Uint8Array | undefined> {
    if (this.#done) return undefined;
    if (this.#source !== undefined) return await this.#readSource(this.#source);
    if (this.#spare === undefined) {
      const { value, done } = await (this.#reader as ReadableStreamDefaultReader<Uint8Array>)
        .read();
      return done ? undefined : value;
    }
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await (this.#reader as ReadableStreamBYOBReader).read(new Uint8Array(this.#spare));
    } catch (error) {
      // A failed read keeps the buffer it took: the next read needs its own to fail with the
      // stream's error again, not with a detached buffer's.
      this.#spare = new ArrayBuffer(READ_BYTES);
      throw error;
    }
    const { value, done } = result;
    // The read took the buffer over and hands it back inside its view.
    if (value !== undefined) this.#spare = value.buffer as ArrayBuffer;
    this.#done = done;
    return done ? undefined : value;
  }

  async #readSource(source: ByteSource): Promise<Uint8Array | undefined> {
    const buffer = new Uint8Array(this.#spare!);
    let read: number | null;
    try {
      read = await source.read(buffer);
    } catch (error) {
      // A read pending at a cancel fails when the cancel closes the source: that is the end.
      if (this.#done) return undefined;
      throw error;
    }
    // A cancel while the read was pending: its bytes, if any, are not wanted.
    if (read === null || this.#done) {
      this.#done = true;
      return undefined;
    }
    return buffer.subarray(0, read);
  }

  /**
   * Stops reading and closes what is read, as a stream's cancel closes its resource: a read
   * pending on it ends as the end.
   */
  async cancel(): Promise<void> {
    this.#done = true;
    try {
      this.#source?.close();
    } catch {
      // already closed
    }
    await this.#reader?.cancel().catch(() => undefined);
  }
}

/** What reads into a caller's buffer, as `Deno.Conn` and `Deno.stdin` do. */
export interface ByteSource {
  /** Reads into `buffer`; the count read, or `null` at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Closes it: a read pending on it then fails. */
  close(): void;
}
