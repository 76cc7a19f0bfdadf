/**
 * The receiver's processes run under Linux's `SCHED_BATCH` policy: a process that wakes up does
 * not preempt the one running, it waits for its turn. A request wakes five processes in a row
 * (listener, executor, child, binary and back), and on a busy machine each wakeup used to stop
 * the writer in the middle of its work. Measured at 32 connections on our two-core machine (4
 * pairs, `sensors`): involuntary context switches per request halved (executor 1.3 to 0.7,
 * children 0.9 to 0.4), CPU per request fell in every process, and req/s rose by about 8%.
 *
 * @module
 */

/** util-linux's `chrt`, on every Debian and Proxmox host (util-linux is essential). */
export const CHRT = "/usr/bin/chrt";

/** `SCHED_BATCH` in `/proc/<pid>/stat`'s policy field. */
export const SCHED_BATCH = 3;

/**
 * Puts this process's main thread under `SCHED_BATCH`. Processes it starts afterwards inherit
 * the policy: the starter calls it before it starts the executor and the listener, and so their
 * children and the binaries those run get it too. Needs no privilege.
 *
 * @param chrt The `chrt` binary.
 * @returns `undefined`, or why the policy could not be set (the receiver runs on without it).
 */
export async function batchScheduling(chrt = CHRT): Promise<string | undefined> {
  try {
    // The main thread's id is the pid: without `--all-tasks` only it changes, and it is the
    // thread that spawns.
    const output = await new Deno.Command(chrt, {
      args: ["--batch", "--pid", "0", String(Deno.pid)],
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (output.success) return undefined;
    const why = new TextDecoder().decode(output.stderr).trim().split("\n")[0];
    return `${chrt} exited with ${output.code}: ${why}`;
  } catch (error) {
    return `${chrt}: ${(error as Error).message}`;
  }
}

/** The scheduling policy of a process, from `/proc/<pid>/stat` (0 is `SCHED_OTHER`). */
export function schedulingPolicy(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // After the name, `policy` is field 41 of stat: index 38 of the rest.
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[38]);
}
