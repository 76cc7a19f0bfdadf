/**
 * Sends one request's progress lines to the launcher from inside the fenced child: one
 * `{"progress":...}` line each on stdout, in order, capped (see `progress_cap.ts`), all written
 * before the reply.
 *
 * @module
 */
import type { OutputLine } from "../process/line_tap.ts";
import { ProgressCap } from "../process/progress_cap.ts";
import type { Progress } from "../process/protocol.ts";

/** Sends progress for one request. */
export class ProgressSender {
  readonly #write: (text: string) => Promise<void>;
  readonly #cap = new ProgressCap();
  /** Writes go out one after another: stdout and stderr lines must not interleave mid-line. */
  #tail: Promise<void> = Promise.resolve();

  /**
   * @param write Writes text to the launcher (the child's stdout), whole.
   */
  constructor(write: (text: string) => Promise<void>) {
    this.#write = write;
  }

  /**
   * Sends one line of `stream`, or at the cap the one truncation marker instead.
   *
   * @returns `false` once nothing more will be sent (the cap is reached); never rejects.
   * @example
   * ```ts
   * import { ProgressSender } from "./progress_sender.ts";
   * import assert from "node:assert/strict";
   * let sent = "";
   * const sender = new ProgressSender(async (text) => void (sent += text));
   * assert.equal(await sender.send("stdout", { line: "extracting", cut: false }), true);
   * assert.equal(sent, '{"progress":{"stream":"stdout","line":"extracting"}}\n');
   * ```
   */
  send(stream: "stdout" | "stderr", line: OutputLine): Promise<boolean> {
    const verdict = this.#cap.take(line.line);
    if (verdict === "drop") return Promise.resolve(false);
    const progress: Progress = verdict === "keep"
      ? { stream, line: line.line, ...(line.cut ? { cut: true } : {}) }
      : { truncated: true };
    const text = JSON.stringify({ progress }) + "\n";
    // A launcher that went away cannot read the reply either; the request still ends normally.
    this.#tail = this.#tail.then(() => this.#write(text)).catch(() => {});
    return this.#tail.then(() => verdict === "keep");
  }

  /** Resolves once everything sent so far is written. */
  flushed(): Promise<void> {
    return this.#tail;
  }
}
