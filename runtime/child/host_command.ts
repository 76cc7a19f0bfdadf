/**
 * Runs one host command from inside a fenced child: by canonical path, with a cleared
 * environment, no stdin, and both output streams capped.
 *
 * @module
 */
import type { CommandOutput } from "../../ops/types.ts";
import { MIB, readCapped } from "../process/capped_read.ts";

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

/**
 * Spawns `path` with `args` and waits for it. Needs run permission for `path`.
 *
 * @throws {Deno.errors.NotCapable} When the path is outside the child's grant (synchronously).
 * @throws {Deno.errors.NotFound} When the binary vanished.
 */
export async function runHostCommand(path: string, args: readonly string[]): Promise<HostRun> {
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
  try {
    const [stdout, stderr, status] = await Promise.all([
      readCapped(child.stdout, MIB),
      readCapped(child.stderr, MIB),
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
      },
      stdoutBytes: stdout.total,
      stderrBytes: stderr.total,
      durationMs: performance.now() - started,
    };
  } finally {
    current = undefined;
  }
}
