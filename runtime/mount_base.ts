/**
 * The on-disk check of the mount base. Root mounts below it and the fenced child may write it,
 * and both the kernel (for a mount target) and Deno (for a grant) take a path as written, so
 * every directory from `/` down to the base must be a real directory owned by root that nobody
 * else can change: no symlink anywhere, no group- or world-writable base, no writable ancestor
 * except a sticky one (like `/tmp`). A base that does not exist yet is fine when its parent
 * passes: `mount-usb` creates it, mode 0755, on first use.
 *
 * Needs read permission for the base and every directory above it (`lstat` only).
 *
 * @module
 */
import { directoryProblem, mountBaseProblem } from "../ops/mount_usb/mod.ts";
import type { PathInfo } from "../ops/types.ts";

/** Reads what {@linkcode directoryProblem} judges; `undefined` for a missing path. */
export type Lstat = (path: string) => Promise<PathInfo | undefined>;

/** {@linkcode Lstat} on the real filesystem. Needs read permission for `path`. */
export async function lstatInfo(path: string): Promise<PathInfo | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  return pathInfo(info);
}

/** What an op may know of a path: its kind, owner and permission bits. */
export function pathInfo(info: Deno.FileInfo): PathInfo {
  const kind = info.isSymlink
    ? "symlink"
    : info.isDirectory
    ? "directory"
    : info.isFile
    ? "file"
    : "other";
  return { kind, uid: info.uid ?? -1, mode: (info.mode ?? 0) & 0o7777 };
}

/**
 * Returns every reason the mount base is unsafe for root to mount below, or none.
 *
 * @param base The mount base, as configured.
 * @param lstat How paths are inspected (tests pass a table).
 * @returns Plain sentences, e.g. `"/mnt/usb" is a symlink`; empty when the base is safe.
 * @example
 * ```ts
 * import { mountBaseProblems } from "./mount_base.ts";
 * import assert from "node:assert/strict";
 * const dir = { kind: "directory", uid: 0, mode: 0o755 } as const;
 * const disk: Record<string, typeof dir> = { "/": dir, "/mnt": dir, "/mnt/usb": dir };
 * assert.deepEqual(await mountBaseProblems("/mnt/usb", (p) => Promise.resolve(disk[p])), []);
 * assert.match(
 *   (await mountBaseProblems("/mnt/usb", (p) =>
 *     Promise.resolve(p === "/mnt" ? { ...dir, mode: 0o777 } : disk[p])))[0]!,
 *   /"\/mnt" is writable by group or others/,
 * );
 * ```
 */
export async function mountBaseProblems(
  base: string,
  lstat: Lstat = lstatInfo,
): Promise<string[]> {
  const syntax = mountBaseProblem(base);
  if (syntax !== undefined) return [`"${base}" ${syntax}`];
  const segments = base.slice(1).split("/");
  const chain = ["/", ...segments.map((_, i) => "/" + segments.slice(0, i + 1).join("/"))];
  const problems: string[] = [];
  for (const path of chain) {
    const isBase = path === base;
    let info: PathInfo | undefined;
    try {
      info = await lstat(path);
    } catch (error) {
      problems.push(`"${path}" cannot be inspected: ${(error as Error).message.split("\n")[0]}`);
      break;
    }
    if (info === undefined) {
      // Only the base itself may be missing; mount-usb creates it below a safe parent.
      if (!isBase) problems.push(`"${path}" does not exist`);
      break;
    }
    const problem = directoryProblem(info, isBase ? "base" : "ancestor");
    if (problem !== undefined) {
      problems.push(`"${path}" ${problem}`);
      break;
    }
  }
  return problems;
}
