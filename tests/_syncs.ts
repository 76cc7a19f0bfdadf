/**
 * Counts the fsyncs a script makes, per thread, with strace on a real `deno eval`: what the
 * journal's durability costs the disk, and on which thread.
 *
 * @module
 */
import assert from "node:assert/strict";

/** strace's path, or `undefined` where it is not installed (the tests then skip). */
export const STRACE: string | undefined = ["/usr/bin/strace", "/bin/strace"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

/** What one traced run did. */
export interface Syncs {
  /** Successful fsyncs and fdatasyncs by the script's main thread. */
  readonly main: number;
  /** The same by every other thread (a worker's, Deno's own). */
  readonly others: number;
  /** The script's last line on stdout. */
  readonly said: string;
}

/** What a traced `deno eval` did: strace's lines (each thread's id first) and its stdout. */
export interface Traced {
  readonly lines: string[];
  readonly stdout: string;
}

/**
 * Runs `script` in a real `deno eval` under `strace -f`, tracing only `calls`; the trace file goes
 * in `dir` (which must exist).
 */
export async function traceScript(script: string, dir: string, calls: string): Promise<Traced> {
  const output = await new Deno.Command(STRACE!, {
    args: [
      "-f",
      "-e",
      `trace=${calls}`,
      "-o",
      `${dir}/trace`,
      Deno.execPath(),
      "eval",
      "--no-prompt",
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const lines = wholeCalls((await Deno.readTextFile(`${dir}/trace`)).split("\n"));
  await Deno.remove(`${dir}/trace`);
  return { lines, stdout: new TextDecoder().decode(output.stdout) };
}

/**
 * strace's lines with each call whole. A call that another thread's line interrupted comes as
 * `<tid> call(args <unfinished ...>` and, later, `<tid> <... call resumed>rest`: it is joined into
 * one line, in the place where it began.
 */
export function wholeCalls(lines: readonly string[]): string[] {
  const whole: string[] = [];
  const unfinished = new Map<string, number>();
  for (const line of lines) {
    const tid = /^(\d+) /.exec(line)?.[1];
    const resumed = /^\d+ <\.\.\. \w+ resumed>(.*)$/.exec(line);
    const begun = tid === undefined ? undefined : unfinished.get(tid);
    if (resumed && begun !== undefined) {
      whole[begun] = `${whole[begun]}${resumed[1]}`;
      unfinished.delete(tid!);
    } else if (tid !== undefined && line.endsWith(" <unfinished ...>")) {
      unfinished.set(tid, whole.length);
      whole.push(line.slice(0, -" <unfinished ...>".length));
    } else {
      whole.push(line);
    }
  }
  return whole;
}

/** Runs `script` under strace in `dir` (which must exist) and counts its syncs. */
export async function countSyncs(script: string, dir: string): Promise<Syncs> {
  const { lines, stdout } = await traceScript(script, dir, "fsync,fdatasync");
  const syncs = lines.filter((line) => /f(data)?sync\(/.test(line) && !/= -1/.test(line));
  // strace -f starts each line with the thread id; the main thread's is the process id.
  const pid = lines[0]?.match(/^(\d+)/)?.[1];
  const main = syncs.filter((line) => line.startsWith(`${pid} `)).length;
  const said = stdout.trim().split("\n").at(-1) ?? "";
  return { main, others: syncs.length - main, said };
}
