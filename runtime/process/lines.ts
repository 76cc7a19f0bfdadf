/**
 * Newline-delimited JSON framing between the launcher and a fenced child: one request per line
 * in, one reply per line out, so a child can serve several requests (pooling).
 *
 * @module
 */

/** What {@linkcode LineReader.next} returns: a line, a line that was too long, or the end. */
export type Line = { readonly line: string } | { readonly tooLong: true } | undefined;

/**
 * Reads lines from a byte stream, one at a time, dropping any line longer than the cap (its
 * bytes are discarded up to the next newline) so a runaway writer cannot grow our memory.
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
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  // A decoder, not a TextDecoderStream: piping through one costs a transform stream's turns
  // per chunk, on every bridge and child line. Byte-order marks are kept: Deno's streaming
  // decoder drops one that starts a later chunk (checked on 2.9.6), so what a line holds
  // would depend on where the bytes were cut.
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  readonly #max: number;
  #buffer = "";
  #skipping = false;
  #done = false;

  /**
   * @param stream The bytes to read.
   * @param maxChars The longest line kept.
   */
  constructor(stream: ReadableStream<Uint8Array>, maxChars: number) {
    this.#reader = stream.getReader();
    this.#max = maxChars;
  }

  /** The next line, `{ tooLong: true }` for an oversized one, or `undefined` at the end. */
  async next(): Promise<Line> {
    while (true) {
      const end = this.#buffer.indexOf("\n");
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
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#done = true;
        this.#buffer += this.#decoder.decode();
      } else this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Whether bytes past the last line returned are waiting. */
  get buffered(): boolean {
    return this.#buffer.length > 0 || this.#skipping;
  }

  /** Stops reading. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => undefined);
  }
}
