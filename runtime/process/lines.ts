/**
 * Newline-delimited JSON framing between the launcher and a fenced child: one request per line
 * in, one reply per line out, so a child can serve several requests (pooling).
 *
 * @module
 */
import { type ByteSource, ChunkReader } from "./chunks.ts";

/** What {@linkcode LineReader.next} returns: a line, a line that was too long, or the end. */
export type Line = { readonly line: string } | { readonly tooLong: true } | undefined;

/**
 * Reads lines from a byte stream, one at a time, dropping any line longer than the cap (its
 * bytes are discarded up to the next newline) so a runaway writer cannot grow our memory. It
 * reads through a {@linkcode ChunkReader}, whose rule on byte streams' sources applies.
 *
 * @example
 * ```ts
 * import { LineReader } from "./lines.ts";
 * import assert from "node:assert/strict";
 * const reader = new LineReader(new Blob(["a\nbb\n"]).stream(), 10);
 * assert.deepEqual(await reader.next(), { line: "a" });
 * assert.deepEqual(await reader.next(), { line: "bb" });
 * assert.equal(await reader.next(), undefined);
 * ```
 */
export class LineReader {
  // Each chunk is decoded before the next read, which may overwrite it.
  readonly #chunks: ChunkReader;
  // A decoder, not a TextDecoderStream: piping through one costs a transform stream's turns
  // per chunk, on every bridge and child line. Byte-order marks are kept: Deno's streaming
  // decoder drops one that starts a later chunk (checked on 2.9.6), so what a line holds
  // would depend on where the bytes were cut.
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  readonly #max: number;
  #buffer = "";
  /** Whether `#buffer` may hold a newline: after a line is taken out, or a read brought one. */
  #newline = false;
  #skipping = false;
  #done = false;

  /**
   * @param stream The bytes to read: a stream, or a source read directly (`ChunkReader`).
   * @param maxChars The longest line kept.
   */
  constructor(stream: ReadableStream<Uint8Array> | ByteSource, maxChars: number) {
    this.#chunks = new ChunkReader(stream);
    this.#max = maxChars;
  }

  /** The next line, `{ tooLong: true }` for an oversized one, or `undefined` at the end. */
  async next(): Promise<Line> {
    while (true) {
      // The whole buffer is searched only when a newline is known to be in it: searching it
      // after every read made a long line sent in small writes cost quadratic time.
      const end = this.#newline ? this.#buffer.indexOf("\n") : -1;
      this.#newline = end >= 0;
      if (end >= 0) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 1);
        // A line can arrive whole in one read and still be over the cap.
        if (this.#skipping || line.length > this.#max) {
          this.#skipping = false;
          return { tooLong: true };
        }
        return { line };
      }
      if (this.#buffer.length > this.#max) {
        this.#buffer = "";
        this.#skipping = true;
      }
      if (this.#done) {
        if (this.#skipping) {
          this.#skipping = false;
          return { tooLong: true };
        }
        return undefined;
      }
      const bytes = await this.#chunks.read();
      if (bytes === undefined) this.#done = true;
      const text = bytes === undefined
        ? this.#decoder.decode()
        : this.#decoder.decode(bytes, { stream: true });
      this.#buffer += text;
      this.#newline = text.includes("\n");
    }
  }

  /** Whether bytes past the last line returned are waiting. */
  get buffered(): boolean {
    return this.#buffer.length > 0 || this.#skipping;
  }

  /** Stops reading. */
  async cancel(): Promise<void> {
    await this.#chunks.cancel();
  }
}
