/**
 * What the chaos phases observe of processes, from `/proc`: whether one runs, its parent and
 * process group, its descriptors and memory; and the small waiting helpers they share. Needs
 * read of `/proc` (root sees every process).
 *
 * @module
 */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every `every` ms until it returns something other than `undefined`, or `ms`. */
export async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  ms: number,
  every = 50,
): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await sleep(every);
  }
}

function statFields(pid: number): string[] | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Whether a process runs; a zombie, which only waits for its parent to reap it, does not. */
export function alive(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== "Z" && fields[0] !== "X";
}

/** A process's parent, or `undefined` when it is gone. */
export function parentOf(pid: number): number | undefined {
  const ppid = statFields(pid)?.[1];
  return ppid === undefined ? undefined : Number(ppid);
}

/** A process's process group, or `undefined` when it is gone. */
export function groupOf(pid: number): number | undefined {
  const pgid = statFields(pid)?.[2];
  return pgid === undefined ? undefined : Number(pgid);
}

/** Every live process in process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (groupOf(pid) === pgid && alive(pid)) members.push(pid);
  }
  return members;
}

/** Every process below `pid`, parents before their children. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    const ppid = parentOf(Number(entry.name));
    if (ppid !== undefined) children.set(ppid, [...children.get(ppid) ?? [], Number(entry.name)]);
  }
  const found: number[] = [];
  for (const queue = [pid]; queue.length > 0;) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/** Open descriptors of a process, or `NaN` when it is gone. */
export function fdCount(pid: number): number {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
    return n;
  } catch {
    return NaN;
  }
}

/** Resident and peak resident memory of a process, in MiB (`NaN` when it is gone). */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    return { rssMiB: kib("VmRSS") / 1024, hwmMiB: kib("VmHWM") / 1024 };
  } catch {
    return { rssMiB: NaN, hwmMiB: NaN };
  }
}

/** Sends a signal, ignoring a process (or group, for a negative id) already gone. */
export function signal(pid: number, name: Deno.Signal): void {
  try {
    Deno.kill(pid, name);
  } catch {
    // already gone
  }
}

/** Resolves with the time (ms since the epoch) a process was first seen gone, polling often. */
export async function goneAt(pid: number, ms = 120_000): Promise<number> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return NaN;
    await sleep(10);
  }
  return Date.now();
}

let fresh: Deno.HttpClient | undefined;

/**
 * One `GET /healthz` on a connection of its own, as a monitor probes (a pooled keep-alive
 * connection would slip past a connection cap that new clients meet): its status (0 when it
 * failed or timed out) and latency in ms.
 */
export async function health(
  url: string,
  ms = 5000,
): Promise<{ status: number; body: string; ms: number }> {
  fresh ??= Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  const started = performance.now();
  try {
    const response = await fetch(`${url}/healthz`, {
      client: fresh,
      signal: AbortSignal.timeout(ms),
    });
    const body = await response.text();
    return { status: response.status, body, ms: performance.now() - started };
  } catch (error) {
    return { status: 0, body: String(error), ms: performance.now() - started };
  }
}
