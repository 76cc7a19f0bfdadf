/**
 * Runs one host command from inside a fenced child: by canonical path, with a cleared
 * environment, no stdin, both output streams capped and, when the op asks, a timeout of its own.
 *
 * @module
 */
import type { CommandOutput } from "../../ops/types.ts";
import { MIB, readCapped } from "../process/capped_read.ts";
import { lineTap, type OutputLine } from "../process/line_tap.ts";

/** The environment every host command gets: nothing inherited. */
export const HOST_ENV: Readonly<Record<string, string>> = {
  LC_ALL: "C",
  PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
};

/** A finished host command. */
export interface HostRun {
  readonly output: CommandOutput;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly durationMs: number;
}

/** The running host command, so a SIGTERM handler can stop it. */
let current: Deno.ChildProcess | undefined;

/** Kills the running host command, if any. */
export function killHostCommand(): void {
  try {
    current?.kill("SIGKILL");
  } catch {
    // already gone
  }
}

/** Options of {@linkcode runHostCommand}. */
export interface RunHostCommandOptions {
  /**
   * Kills the command with SIGKILL after this many milliseconds (an integer from 1 to
   * {@linkcode MAX_HOST_TIMEOUT_MS}); its output then has `timedOut: true`.
   * @default {none: the command runs until it ends or the child is killed}
   */
  readonly timeoutMs?: number;
  /**
   * Told each line of the command's output as it comes (see `lineTap`); resolving `false` stops
   * the telling. What the command wrote is kept whole either way.
   * @default {none: the output is only kept}
   */
  readonly onLine?: (stream: "stdout" | "stderr", line: OutputLine) => Promise<boolean | void>;
}

/** The longest per-command timeout: a day, as for a whole op. */
export const MAX_HOST_TIMEOUT_MS = 24 * 60 * 60_000;

/**
 * Spawns `path` with `args` and waits for it. Needs run permission for `path`.
 *
 * @throws {RangeError} For a timeout that is not a whole number of ms in range.
 * @throws {Deno.errors.NotCapable} When the path is outside the child's grant (synchronously).
 * @throws {Deno.errors.NotFound} When the binary vanished.
 */
export async function runHostCommand(
  path: string,
  args: readonly string[],
  options: RunHostCommandOptions = {},
): Promise<HostRun> {
  const { timeoutMs, onLine } = options;
  if (
    timeoutMs !== undefined &&
    !(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= MAX_HOST_TIMEOUT_MS)
  ) {
    throw new RangeError(
      `Cannot run "${path}" with timeout ${timeoutMs} ms: give whole ms in (0, ${MAX_HOST_TIMEOUT_MS}]`,
    );
  }
  const started = performance.now();
  const child = new Deno.Command(path, {
    args: [...args],
    clearEnv: true,
    env: { ...HOST_ENV },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  current = child;
  let timedOut = false;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const tapped = (stream: "stdout" | "stderr") =>
      onLine === undefined
        ? child[stream]
        : child[stream].pipeThrough(lineTap((line) => onLine(stream, line)));
    const [stdout, stderr, status] = await Promise.all([
      readCapped(tapped("stdout"), MIB),
      readCapped(tapped("stderr"), MIB),
      child.status,
    ]);
    const text = new TextDecoder();
    return {
      output: {
        exitCode: status.code,
        signal: status.signal,
        stdout: text.decode(stdout.bytes),
        stderr: text.decode(stderr.bytes),
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        ...(timedOut ? { timedOut } : {}),
      },
      stdoutBytes: stdout.total,
      stderrBytes: stderr.total,
      durationMs: performance.now() - started,
    };
  } finally {
    clearTimeout(timer);
    current = undefined;
  }
}
