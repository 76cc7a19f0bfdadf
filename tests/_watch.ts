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
