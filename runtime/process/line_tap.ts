/**
 * Taps a host command's output for progress lines while passing every byte on unchanged, so what
 * the op parses stays exactly what the command wrote.
 *
 * @module
 */
import { MAX_PROGRESS_LINE_CHARS } from "./progress_cap.ts";

/** One line of output, made safe to show: see {@linkcode lineTap}. */
export interface OutputLine {
  /** The text: at most {@linkcode MAX_PROGRESS_LINE_CHARS} units, no control characters. */
  readonly line: string;
  /** Whether the line was longer and this is its start. */
  readonly cut: boolean;
}

/** ANSI escape sequences (CSI, such as colours and cursor moves): dropped whole. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CSI = /\x1b\[[0-?]*[ -/]*[@-~]/g;
/** What is left of C0 (but tab), DEL and C1: each becomes U+FFFD. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
/** Where a line ends: LF, CRLF, or a lone CR (progress bars redraw with one). */
const BREAK = /\r\n|\r|\n/;

function clean(text: string): string {
  return text.replace(CSI, "").replace(CONTROL, "\ufffd");
}

/** The first `max` units of `text`, never half of a surrogate pair. */
function head(text: string, max: number): string {
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/**
 * A stream that passes its bytes through unchanged and calls `onLine` for each non-empty line:
 * decoded as UTF-8 (an invalid byte becomes U+FFFD), split at LF, CRLF or a lone CR, escape
 * sequences dropped and any other control character but tab made U+FFFD, then cut to `maxChars`
 * (the rest of a cut line is skipped up to its end, so no text is ever held beyond that). Each
 * chunk passes on only once `onLine` has resolved for its lines: a slow reader slows the writer
 * instead of growing a buffer. Once `onLine` resolves to `false` it is not called again, and the
 * rest of the bytes pass through undecoded.
 *
 * @param onLine Called for each line, in order; `false` wants no more.
 * @param maxChars The longest line passed to `onLine`.
 * @returns The transform stream.
 * @example
 * ```ts
 * import { lineTap } from "./line_tap.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const out = new Blob(["a\r\nb\x1b[1m!\rc"]).stream().pipeThrough(
 *   lineTap((l) => void lines.push(l.line)),
 * );
 * assert.equal(await new Response(out).text(), "a\r\nb\x1b[1m!\rc");
 * assert.deepEqual(lines, ["a", "b!", "c"]);
 * ```
 */
export function lineTap(
  onLine: (line: OutputLine) => Promise<boolean | void> | boolean | void,
  maxChars: number = MAX_PROGRESS_LINE_CHARS,
): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const breaks = new RegExp(BREAK.source, "g");
  let buffer = "";
  /** Inside a line already cut: its text is discarded up to its end. */
  let skipping = false;
  let done = false;
  const emit = async (text: string, cut: boolean) => {
    const line = clean(text);
    if (line.length === 0 || done) return;
    const whole = line.length <= maxChars;
    const told = { line: whole ? line : head(line, maxChars), cut: cut || !whole };
    if (await onLine(told) === false) done = true;
  };
  const drain = async (final: boolean) => {
    let at = 0;
    for (;;) {
      breaks.lastIndex = at;
      const found = breaks.exec(buffer);
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      const pending = found !== null && found[0] === "\r" && found.index === buffer.length - 1 &&
        !final;
      if (found === null || pending) break;
      const text = buffer.slice(at, found.index);
      at = found.index + found[0].length;
      if (skipping) skipping = false;
      else await emit(text, false);
    }
    buffer = buffer.slice(at);
    if (!skipping && buffer.length > maxChars) {
      await emit(buffer, true);
      skipping = true;
    }
    if (skipping) buffer = "";
    if (final && buffer.length > 0) {
      await emit(buffer, false);
      buffer = "";
    }
  };
  return new TransformStream({
    async transform(chunk, controller) {
      if (!done) {
        buffer += decoder.decode(chunk, { stream: true });
        await drain(false);
      }
      controller.enqueue(chunk);
    },
    async flush() {
      if (done) return;
      buffer += decoder.decode();
      await drain(true);
    },
  });
}
