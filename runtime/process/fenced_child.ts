/**
 * A started fenced child: it serves requests one at a time over newline-delimited JSON until
 * its stdin is closed. The launcher spawns it; this class only talks to it.
 *
 * @module
 */
import { errorCodes } from "../../ops/mod.ts";
import type { AnyOp } from "../../ops/types.ts";
import { type CappedBytes, MIB, readCapped } from "./capped_read.ts";
import { RootfenceError } from "../errors.ts";
import { type Line, LineReader } from "./lines.ts";
import { ProgressCap } from "./progress_cap.ts";
import { type ChildReply, childReply, type Progress, ProgressMessage } from "./protocol.ts";

/** The most bytes the launcher accepts as one reply. */
export const MAX_REPLY_BYTES = 4 * MIB;

/**
 * The warm-up line: not a request (the request schema is strict and has only `input`), so every
 * child refuses it as `invalid_input` before it looks at its op, and nothing can run. Its answer
 * says the child has loaded, and its request path has run once.
 */
export const WARM_UP_LINE = '{"warmUp":true}\n';

/** The longest timeout anyone may ask for. */
export const MAX_TIMEOUT_MS = 24 * 60 * 60_000;

/** Options of {@linkcode FencedChild.run}. */
export interface ChildRunOptions {
  /** Aborting kills the child's process tree; the run ends as `interrupted`. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Told each progress line of an op that streams progress, validated and capped again here
   * (see `progress_cap.ts`), before the reply arrives.
   */
  readonly onProgress?: ((progress: Progress) => void) | undefined;
}

/** Whether a parsed line is a progress message rather than a reply (it has no `ok`). */
function isProgress(document: unknown): boolean {
  return typeof document === "object" && document !== null && "progress" in document;
}

/** A spawned child, waiting for requests on stdin. */
export class FencedChild {
  readonly #op: AnyOp;
  readonly #reply: ReturnType<typeof childReply>;
  readonly #process: Deno.ChildProcess;
  readonly #killTree: (process: Deno.ChildProcess) => Promise<void>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #replies: LineReader;
  readonly #stderr: Promise<CappedBytes>;
  readonly #exited: Promise<Deno.CommandStatus>;
  #uses = 0;
  #busy = false;
  #dead = false;

  /**
   * @param op The op whose flags the child runs under.
   * @param process The spawned child (stdin, stdout and stderr piped).
   * @param killTree Kills the child and everything it started.
   */
  constructor(
    op: AnyOp,
    process: Deno.ChildProcess,
    killTree: (process: Deno.ChildProcess) => Promise<void>,
  ) {
    this.#op = op;
    this.#reply = childReply(errorCodes([op]));
    this.#process = process;
    this.#killTree = killTree;
    this.#writer = process.stdin.getWriter();
    this.#replies = new LineReader(process.stdout, MAX_REPLY_BYTES);
    // Drain stderr from the start: a child blocked on a full pipe would look hung.
    this.#stderr = readCapped(process.stderr, 64 * 1024);
    this.#exited = process.status.finally(() => this.#dead = true);
  }

  /** The op this child serves. */
  get op(): AnyOp {
    return this.#op;
  }

  /** The child's process id (also its process group id). */
  get pid(): number {
    return this.#process.pid;
  }

  /** How many requests it has taken. */
  get uses(): number {
    return this.#uses;
  }

  /** Whether it can take a request now. */
  get available(): boolean {
    return !this.#dead && !this.#busy;
  }

  /** Resolves when the child has exited. */
  get exited(): Promise<Deno.CommandStatus> {
    return this.#exited;
  }

  /**
   * Sends one input, waits for its reply and validates it. For an op that streams progress, the
   * progress lines before the reply go to `onProgress`; a child that sends one of another op,
   * or one outside the schema, fails like one that sends no valid reply.
   *
   * @throws {RootfenceError} `timeout`, `interrupted`, `output_too_large` or `child_failed`;
   * after any of them the child is dead.
   */
  async run(
    input: unknown,
    timeoutMs: number,
    options: ChildRunOptions = {},
  ): Promise<ChildReply> {
    const { signal, onProgress } = options;
    if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
      throw new RangeError(`Cannot use timeout ${timeoutMs} ms: must be in (0, ${MAX_TIMEOUT_MS}]`);
    }
    if (!this.available) {
      throw new RootfenceError(
        "child_failed",
        `Cannot use child of "${this.#op.name}": busy or gone`,
      );
    }
    // Aborted before it began: the request is never sent, and the child stays whole for another.
    if (signal?.aborted) {
      throw new RootfenceError("interrupted", `Cannot run "${this.#op.name}": interrupted`);
    }
    this.#busy = true;
    this.#uses++;
    let ended: "timeout" | "interrupted" | undefined;
    const end = (why: "timeout" | "interrupted") => {
      ended ??= why;
      void this.kill();
    };
    const timer = setTimeout(() => end("timeout"), timeoutMs);
    const onAbort = () => end("interrupted");
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      try {
        await this.#writer.write(new TextEncoder().encode(JSON.stringify({ input }) + "\n"));
      } catch {
        // The child died before reading; the missing reply below says so.
      }
      const next = await this.#nextReply(onProgress);
      if (ended === "interrupted") {
        throw new RootfenceError(
          "interrupted",
          `Cannot finish "${this.#op.name}": interrupted (its process tree was killed)`,
        );
      }
      if (ended === "timeout") {
        throw new RootfenceError(
          "timeout",
          `Cannot finish "${this.#op.name}": killed after ${timeoutMs} ms`,
          { timeoutMs },
        );
      }
      if (next === undefined) {
        const died = await this.#died();
        // What it started (pct and its helpers) dies too, before the job lets go of its
        // resources: the next job on the same vmid must not overlap it.
        await this.kill();
        throw died;
      }
      if ("tooLong" in next) {
        await this.kill();
        throw new RootfenceError(
          "output_too_large",
          `Cannot read the reply of "${this.#op.name}": larger than ${MAX_REPLY_BYTES} bytes`,
        );
      }
      if ("invalid" in next) {
        await this.kill();
        throw new RootfenceError(
          "child_failed",
          `Cannot read the progress of "${this.#op.name}": not a valid progress line`,
        );
      }
      try {
        return this.#reply.parse(JSON.parse(next.line));
      } catch {
        await this.kill();
        throw new RootfenceError(
          "child_failed",
          `Cannot read the reply of "${this.#op.name}": not a valid reply document`,
        );
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      this.#busy = false;
    }
  }

  /**
   * The next line that is not progress. Progress lines on the way go to `onProgress` through a
   * cap of this run's own; the first invalid one ends the reading (`invalid`).
   */
  async #nextReply(
    onProgress: ChildRunOptions["onProgress"],
  ): Promise<Line | { readonly invalid: true }> {
    if (this.#op.progress !== true) return await this.#replies.next();
    const cap = new ProgressCap();
    for (;;) {
      const next = await this.#replies.next();
      if (next === undefined || "tooLong" in next) return next;
      let document: unknown;
      try {
        document = JSON.parse(next.line);
      } catch {
        return next;
      }
      if (!isProgress(document)) return next;
      const parsed = ProgressMessage.safeParse(document);
      if (!parsed.success) return { invalid: true };
      const { progress } = parsed.data;
      const verdict = "truncated" in progress ? cap.mark() : cap.take(progress.line);
      if (verdict === "drop") continue;
      try {
        onProgress?.(verdict === "keep" ? progress : { truncated: true });
      } catch {
        // Progress is told, not needed: a failing listener must not fail the run.
      }
    }
  }

  /**
   * Sends {@linkcode WARM_UP_LINE} and waits for its refusal: once this resolves, the child has
   * loaded its modules and run its request path once, so the next request does not wait for
   * either. A child that does not answer within `timeoutMs` is killed.
   *
   * @throws {RootfenceError} `child_failed` (or `denied`, for sudo refusing the command line)
   * when the child died or answered anything but the refusal; the child is dead then.
   */
  async warmUp(timeoutMs: number): Promise<void> {
    if (!this.available) {
      throw new RootfenceError("child_failed", `Cannot warm up child of "${this.#op.name}": busy`);
    }
    this.#busy = true;
    const timer = setTimeout(() => void this.kill(), timeoutMs);
    try {
      try {
        await this.#writer.write(new TextEncoder().encode(WARM_UP_LINE));
      } catch {
        // The child died before reading; the missing answer below says so.
      }
      const next = await this.#replies.next();
      if (next === undefined) {
        const died = await this.#died();
        await this.kill();
        throw died;
      }
      let refused = false;
      try {
        const reply = "tooLong" in next ? undefined : this.#reply.parse(JSON.parse(next.line));
        refused = reply?.ok === false && reply.error.code === "invalid_input";
      } catch {
        // not a reply document: refused stays false
      }
      if (!refused) {
        await this.kill();
        throw new RootfenceError(
          "child_failed",
          `Cannot warm up child of "${this.#op.name}": it did not refuse the warm-up line`,
        );
      }
    } finally {
      clearTimeout(timer);
      this.#busy = false;
    }
  }

  async #died(): Promise<RootfenceError> {
    const status = await this.#exited;
    const stderr = new TextDecoder().decode((await this.#stderr).bytes);
    const why = stderr.trim().split("\n").slice(-5).join("\n");
    // sudo refusing the command line (not pinned in sudoers, or a password asked for).
    const refused = /^sudo: /m.test(stderr);
    return new RootfenceError(
      refused ? "denied" : "child_failed",
      `Cannot read the reply of "${this.#op.name}": child exited with code ${status.code}` +
        (why ? `: ${why}` : ""),
      {
        exitCode: status.code,
        signal: status.signal,
        // It may have died after its host command changed the host: say so, never "not run".
        ...(this.#op.mutates ? { outcome: "unknown" } : {}),
      },
    );
  }

  /** Ends the child gracefully: it exits once its stdin is closed. */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => undefined);
  }

  /** Kills the child and everything it started. */
  async kill(): Promise<void> {
    this.#dead = true;
    await this.#killTree(this.#process);
  }
}
