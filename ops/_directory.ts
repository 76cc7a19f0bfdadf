/**
 * The rule for every directory root writes or mounts through: a real directory, owned by root,
 * that nobody else may change. Shared by an op with a write base (which checks the base as root)
 * and the runtime (which checks the base and every directory above it). Pure.
 *
 * @module
 */
import type { PathInfo } from "./types.ts";

/** The mode an op gives a directory it creates: its write base, or a target below it. */
export const CREATED_DIR_MODE = 0o755;

/**
 * Returns why a directory on the way to mount targets is unsafe for root to mount through, or
 * `undefined` when it is a real directory owned by root that nobody else may change. The base
 * must not be writable by group or others at all; an ancestor may be a sticky directory (like
 * `/tmp`), where nobody can rename or replace the root-owned entry below it.
 *
 * @param info The directory, not followed if a symlink.
 * @param role `"base"` for the write base itself, `"ancestor"` for a directory above it.
 * @example
 * ```ts
 * import { directoryProblem } from "./_directory.ts";
 * import assert from "node:assert/strict";
 * assert.equal(directoryProblem({ kind: "directory", uid: 0, mode: 0o755 }, "base"), undefined);
 * assert.match(directoryProblem({ kind: "symlink", uid: 0, mode: 0o777 }, "base")!, /symlink/);
 * assert.equal(directoryProblem({ kind: "directory", uid: 0, mode: 0o1777 }, "ancestor"), undefined);
 * ```
 */
export function directoryProblem(info: PathInfo, role: "base" | "ancestor"): string | undefined {
  if (info.kind === "symlink") return "is a symlink";
  if (info.kind === "file") return "is a file, not a directory";
  if (info.kind !== "directory") return "is a special file, not a directory";
  if (info.uid !== 0) return `is owned by uid ${info.uid}, not root`;
  const sticky = (info.mode & 0o1000) !== 0;
  if ((info.mode & 0o022) !== 0 && (role === "base" || !sticky)) {
    return `is writable by group or others (mode ${(info.mode & 0o7777).toString(8)})`;
  }
  return undefined;
}
