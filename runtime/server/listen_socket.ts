/**
 * Makes way for the Unix socket the listener is about to create (`--listen unix:<path>`). A
 * socket file left by a listener that died is removed; anything else at the path is refused and
 * left alone: a symlink, a regular file or a directory (a mistyped path must never cost the
 * journal or the keys file), another user's socket, and a socket some process still listens on.
 * Part of the sealed listener: Deno APIs only.
 *
 * Needs read, write and net (`unix:<path>`) permission for the path, and `--allow-sys=uid` where
 * the caller reads `Deno.uid()`.
 *
 * @module
 */

function kind(info: Deno.FileInfo): string {
  if (info.isFile) return "a regular file";
  if (info.isDirectory) return "a directory";
  return "not a socket";
}

/**
 * Removes a stale socket at `path`, or throws why the listener may not listen there.
 *
 * @param path Where the listener's socket goes.
 * @param uid The listener's user: only a socket it owns is ever removed.
 * @throws {Error} With one line saying what to fix, when something other than a stale socket of
 * `uid` is at `path`.
 * @example
 * ```ts
 * import { clearStaleSocket } from "./listen_socket.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/journal.db`, "precious");
 * await assert.rejects(clearStaleSocket(`${dir}/journal.db`, Deno.uid()!), /regular file/);
 * assert.equal(await Deno.readTextFile(`${dir}/journal.db`), "precious");
 * await clearStaleSocket(`${dir}/listener.sock`, Deno.uid()!); // nothing there: nothing to do
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function clearStaleSocket(path: string, uid: number): Promise<void> {
  let info;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new Error(`Cannot listen on "${path}": ${(error as Error).message}`);
  }
  const cannot = `Cannot listen on "${path}"`;
  const fix = "remove it or choose another path";
  if (info.isSymlink) throw new Error(`${cannot}: it is a symlink; ${fix}`);
  if (!info.isSocket) throw new Error(`${cannot}: it is ${kind(info)}; ${fix}`);
  if (info.uid !== uid) {
    throw new Error(
      `${cannot}: it is a socket of uid ${info.uid}, not of uid ${uid} that the listener runs ` +
        `as; ${fix}`,
    );
  }
  let live;
  try {
    live = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionRefused)) {
      throw new Error(`${cannot}: ${(error as Error).message}`);
    }
    // Nobody accepts on it: a listener that died left it behind.
    await Deno.remove(path);
    return;
  }
  live.close();
  throw new Error(`${cannot}: another process listens on it; stop that one first`);
}
