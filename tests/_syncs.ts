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

/** Runs `script` under strace in `dir` (which must exist) and counts its syncs. */
export async function countSyncs(script: string, dir: string): Promise<Syncs> {
  const output = await new Deno.Command(STRACE!, {
    args: [
      "-f",
      "-e",
      "trace=fsync,fdatasync",
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
  const trace = await Deno.readTextFile(`${dir}/trace`);
  const syncs = trace.split("\n").filter((line) =>
    /f(data)?sync\(/.test(line) && !/= -1/.test(line)
  );
  // strace -f starts each line with the thread id; the main thread's is the process id.
  const pid = trace.match(/^(\d+)/)?.[1];
  const main = syncs.filter((line) => line.startsWith(`${pid} `)).length;
  const said = new TextDecoder().decode(output.stdout).trim().split("\n").at(-1) ?? "";
  return { main, others: syncs.length - main, said };
}
