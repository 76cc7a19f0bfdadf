/**
 * One receiver per state dir: an exclusive `flock` on `<state dir>/executor.lock`, held by the
 * executor for its whole life and tried by the starter before it starts anything. The kernel
 * drops it when the holder dies, even by `kill -9`, so a crash never leaves the dir locked.
 *
 * @module
 */

/** The name of the lock file that marks a state dir as in use. */
export const LOCK_FILE = "executor.lock";

/**
 * Takes the state dir's exclusive lock, or returns the one line that says who holds it. Needs
 * read and write of the state dir.
 */
export async function lockStateDir(stateDir: string): Promise<Deno.FsFile | string> {
  const path = `${stateDir}/${LOCK_FILE}`;
  const info = await Deno.lstat(path).catch(() => undefined);
  if (info !== undefined && !info.isFile) {
    return `Cannot start: "${path}" is not a regular file (a planted link?); remove it`;
  }
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  if (await file.tryLock(true)) return file;
  file.close();
  return `Cannot start: another rootfence executor is running on "${stateDir}" ` +
    `(it holds ${path}); stop it first`;
}
