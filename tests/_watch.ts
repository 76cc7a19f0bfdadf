/**
 * Small probes for tests that watch real processes and a real receiver from outside.
 *
 * @module
 */
import type { Receiver } from "./_receiver.ts";

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `pid` runs (a zombie has exited; only its parent has not reaped it yet). */
export async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Polls `probe` until it holds or `ms` pass; returns its last answer. */
export async function until(
  probe: () => Promise<boolean> | boolean,
  ms: number,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(50);
  }
  return probe();
}

/**
 * Polls `probe` every 50 ms until it gives a value, and returns it. The default wait only bounds
 * how long a failing test takes: orphans and restarts may need many seconds.
 *
 * @throws {Error} When `ms` pass first.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting ${ms} ms`);
    await sleep(50);
  }
}

/** Open descriptors of `pid` (needs root or the same user). */
export function fdCount(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

/** `GET /healthz` through the listener, or why it failed, never waiting long. */
export async function health(receiver: Receiver, ms = 3000): Promise<string> {
  try {
    const response = await receiver.fetch(`${receiver.url}/healthz`, {
      signal: AbortSignal.timeout(ms),
    });
    return `${response.status} ${await response.text()}`;
  } catch (error) {
    return String(error);
  }
}

/** Fills the filesystem under `path` with one file, until writes fail (ENOSPC). */
export async function fill(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true });
  const block = new Uint8Array(64 * 1024);
  try {
    for (;;) await file.write(block);
  } catch {
    // ENOSPC: full
  } finally {
    file.close();
  }
}

/** Runs `action`, ignoring that what it closes is already closed. */
export function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // already closed
  }
}

/** Milliseconds until the server ends `conn` (EOF or reset), or `undefined` after `ms`. */
export async function closedWithin(conn: Deno.Conn, ms: number): Promise<number | undefined> {
  const started = Date.now();
  const buffer = new Uint8Array(4096);
  const deadline = setTimeout(() => quietly(() => conn.close()), ms);
  try {
    for (;;) {
      if (await conn.read(buffer) === null) return Date.now() - started;
    }
  } catch (error) {
    // Our own close at the deadline reads as BadResource: the server did not end it.
    return error instanceof Deno.errors.BadResource ? undefined : Date.now() - started;
  } finally {
    clearTimeout(deadline);
  }
}

/** `prlimit` (util-linux), or `undefined` where it is missing (the EMFILE tests then skip). */
export const PRLIMIT: string | undefined = ["/usr/bin/prlimit", "/bin/prlimit"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

/**
 * A moment without file descriptors for `pid`: its limit is lowered to what it holds plus 8,
 * `connect` is called until it fails (at most `tries` times) and the connections are held for
 * `holdMs`, then closed, and the limit goes back to 4096. Needs {@linkcode PRLIMIT}.
 */
export async function starveDescriptors(
  pid: number,
  connect: () => Promise<Deno.Conn>,
  { tries = 24, holdMs = 500 } = {},
): Promise<void> {
  const limit = fdCount(pid) + 8;
  const lowered = await new Deno.Command(PRLIMIT!, {
    args: [`--pid=${pid}`, `--nofile=${limit}:${limit}`],
  }).output();
  if (lowered.code !== 0) throw new Error(new TextDecoder().decode(lowered.stderr));
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < tries; i++) {
      try {
        conns.push(await connect());
      } catch {
        break;
      }
    }
    await sleep(holdMs);
  } finally {
    for (const conn of conns) quietly(() => conn.close());
    await new Deno.Command(PRLIMIT!, { args: [`--pid=${pid}`, "--nofile=4096:4096"] }).output();
  }
}
