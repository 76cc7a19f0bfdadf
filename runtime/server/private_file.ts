/**
 * Writes a private file (mode 0600) in one step, for the keys file and the secrets `keygen`
 * hands out: a reader sees the old file or the whole new one, never half of one, and a symlink
 * planted at the path is never followed.
 *
 * Needs read and write permission for the file's directory.
 *
 * @module
 */
import { basename, dirname } from "node:path";

/** Options of {@linkcode writePrivateFile}. */
export interface WritePrivateFileOptions {
  /**
   * The file this write replaces, as `Deno.lstat` saw it when it was read. The write is refused
   * when something else is at the path by then (another edit, a swap), and the new file gets the
   * old one's owner and group, so that a keys file root edits stays the service user's.
   *
   * @default {undefined: create the file, refusing when anything is at the path}
   */
  readonly replaces?: Deno.FileInfo;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await file.write(bytes.subarray(written));
  }
}

/** Flushes a directory's entries to disk where the platform allows it. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Not every platform or file system can sync a directory; the file itself is synced.
  }
}

/** Whether `now` is still the very file `then` described (same inode, not rewritten since). */
function sameFile(now: Deno.FileInfo, then: Deno.FileInfo): boolean {
  return now.dev === then.dev && now.ino === then.ino && now.isFile &&
    now.size === then.size && now.mtime?.getTime() === then.mtime?.getTime();
}

/**
 * Writes `bytes` to `path`, mode 0600, atomically: they go to a new temp file in the same
 * directory (mode 0600, synced), which then takes the path's place, and the directory is synced.
 * A new file is hard-linked into place: as atomic as a rename, but it never replaces what is
 * there, so an existing file (or a planted symlink) is never truncated or followed. A
 * replacement is renamed over the old file, which replaces a symlink itself, never its target.
 *
 * @param path Where the file goes.
 * @param bytes Its whole content.
 * @param options The file it replaces, if any.
 * @throws {Deno.errors.AlreadyExists} When creating and something already is at `path`, or when
 * replacing and `path` is no longer the file `replaces` describes.
 * @throws {Deno.errors.PermissionDenied} When the old file's owner cannot be kept (only root may
 * give a file to another user).
 * @example
 * ```ts
 * import { writePrivateFile } from "./private_file.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/secret`;
 * await writePrivateFile(path, new TextEncoder().encode("one\n"));
 * await writePrivateFile(path, new TextEncoder().encode("two\n"), {
 *   replaces: await Deno.lstat(path),
 * });
 * assert.equal(await Deno.readTextFile(path), "two\n");
 * assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writePrivateFile(
  path: string,
  bytes: Uint8Array,
  options: WritePrivateFileOptions = {},
): Promise<void> {
  const { replaces } = options;
  const dir = dirname(path);
  const temp = `${dir}/.${basename(path)}.${crypto.randomUUID()}.tmp`;
  const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
  try {
    try {
      await Deno.chmod(temp, 0o600); // exactly 0600, whatever the umask
      if (replaces !== undefined) {
        const made = await file.stat();
        if (made.uid !== replaces.uid || made.gid !== replaces.gid) {
          await Deno.chown(temp, replaces.uid, replaces.gid).catch((error) => {
            if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
            throw new Deno.errors.PermissionDenied(
              `Cannot keep "${path}" owned by uid ${replaces.uid}: run this as that user or root`,
            );
          });
        }
      }
      await writeAll(file, bytes);
      await file.sync();
    } finally {
      file.close();
    }
    if (replaces === undefined) await Deno.link(temp, path);
    else {
      const now = await Deno.lstat(path).catch(() => undefined);
      if (now === undefined || !sameFile(now, replaces)) {
        throw new Deno.errors.AlreadyExists(
          `Cannot replace "${path}": it changed while it was being edited; run the edit again`,
        );
      }
      await Deno.rename(temp, path);
    }
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
  await syncDirectory(dir);
}
