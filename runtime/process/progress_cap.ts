/**
 * The caps on a job's progress lines, kept the same way on both sides of the child boundary: the
 * fenced child stops sending at the cap, and the launcher counts again, so a child that ignores
 * the cap still cannot make the executor store or stream more.
 *
 * @module
 */

/** The longest progress line, in UTF-16 code units; a longer one is cut and marked `cut`. */
export const MAX_PROGRESS_LINE_CHARS = 1024;

/** The most progress lines one run streams; after them comes one truncation marker. */
export const MAX_PROGRESS_LINES = 1000;

/** The most bytes (UTF-8, lines' text only) one run streams as progress. */
export const MAX_PROGRESS_BYTES = 128 * 1024;

/** What to do with one more line: send it, send the one truncation marker instead, or drop it. */
export type CapVerdict = "keep" | "truncate" | "drop";

const encoder = new TextEncoder();
/** A line is at most {@linkcode MAX_PROGRESS_LINE_CHARS} units: three bytes each at most. */
const scratch = new Uint8Array(MAX_PROGRESS_LINE_CHARS * 3);

/**
 * Counts one run's progress lines against {@linkcode MAX_PROGRESS_LINES} and
 * {@linkcode MAX_PROGRESS_BYTES}. The first line past either cap becomes the truncation marker;
 * every later line is dropped.
 *
 * @example
 * ```ts
 * import { ProgressCap } from "./progress_cap.ts";
 * import assert from "node:assert/strict";
 * const cap = new ProgressCap({ lines: 1 });
 * assert.deepEqual([cap.take("a"), cap.take("b"), cap.take("c")], ["keep", "truncate", "drop"]);
 * ```
 */
export class ProgressCap {
  readonly #maxLines: number;
  readonly #maxBytes: number;
  #lines = 0;
  #bytes = 0;
  #truncated = false;

  /**
   * @param limits Lower caps, for tests; the defaults are the protocol's.
   */
  constructor(limits: { readonly lines?: number; readonly bytes?: number } = {}) {
    const { lines = MAX_PROGRESS_LINES, bytes = MAX_PROGRESS_BYTES } = limits;
    this.#maxLines = lines;
    this.#maxBytes = bytes;
  }

  /** Whether the marker was given. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** Counts one line of at most {@linkcode MAX_PROGRESS_LINE_CHARS} units. */
  take(line: string): CapVerdict {
    if (this.#truncated) return "drop";
    const bytes = line.length <= MAX_PROGRESS_LINE_CHARS
      ? encoder.encodeInto(line, scratch).written
      : encoder.encode(line).length;
    if (this.#lines + 1 > this.#maxLines || this.#bytes + bytes > this.#maxBytes) {
      this.#truncated = true;
      return "truncate";
    }
    this.#lines++;
    this.#bytes += bytes;
    return "keep";
  }

  /** Counts a marker the other side sent: it stands the first time, and is dropped after. */
  mark(): CapVerdict {
    if (this.#truncated) return "drop";
    this.#truncated = true;
    return "truncate";
  }
}
