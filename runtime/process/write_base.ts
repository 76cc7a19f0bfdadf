/**
 * The on-disk check of an op's write base (`OpDefinition.writeBase`, e.g. `mount-usb`'s mount
 * base). Root writes or mounts below it and the fenced child may write it, and both the kernel
 * (for a mount target) and Deno (for a grant) take a path as written, so every directory from
 * `/` down to the base must be a real directory owned by root that nobody else can change: no
 * symlink anywhere, no group- or world-writable base, no writable ancestor except a sticky one
 * (like `/tmp`). A base that does not exist yet is fine when its parent passes: the op creates
 * it, mode 0755, on first use.
 *
 * Needs read permission for the base and every directory above it (`lstat` only).
 *
 * @module
 */
import { directoryProblem } from "../../ops/_directory.ts";
import type { AnyOp, OpSettings, PathInfo, WriteBase } from "../../ops/types.ts";
import { normalisedPath } from "./fence.ts";

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
 * Returns every reason a write base is unsafe for root to write or mount below, or none.
 *
 * @param base The base's path, as configured.
 * @param lstat How paths are inspected (tests pass a table).
 * @returns Plain sentences, e.g. `"/mnt/usb" is a symlink`; empty when the base is safe.
 * @example
 * ```ts
 * import { writeBaseProblems } from "./write_base.ts";
 * import assert from "node:assert/strict";
 * const dir = { kind: "directory", uid: 0, mode: 0o755 } as const;
 * const disk: Record<string, typeof dir> = { "/": dir, "/mnt": dir, "/mnt/usb": dir };
 * assert.deepEqual(await writeBaseProblems("/mnt/usb", (p) => Promise.resolve(disk[p])), []);
 * assert.match(
 *   (await writeBaseProblems("/mnt/usb", (p) =>
 *     Promise.resolve(p === "/mnt" ? { ...dir, mode: 0o777 } : disk[p])))[0]!,
 *   /"\/mnt" is writable by group or others/,
 * );
 * ```
 */
export async function writeBaseProblems(
  base: string,
  lstat: Lstat = lstatInfo,
): Promise<string[]> {
  if (!normalisedPath(base)) return [`"${base}" is not an absolute normalised path other than /`];
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
      // Only the base itself may be missing; its op creates it below a safe parent.
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

/** A write base and the ops that write below it. */
export interface DeclaredBase {
  readonly base: WriteBase;
  /** The ops whose write paths lie below it (those that write at all). */
  readonly writers: readonly AnyOp[];
}

/**
 * The write bases of the ops that write anywhere, one per path, in registry order.
 *
 * @example
 * ```ts
 * import { declaredBases } from "./write_base.ts";
 * import { OPS } from "../../ops/mod.ts";
 * import assert from "node:assert/strict";
 * const [declared] = declaredBases(OPS, { mountBase: "/mnt/usb" });
 * assert.equal(declared?.base.path, "/mnt/usb");
 * assert.deepEqual(declared?.writers.map((op) => op.name), ["mount-usb"]);
 * ```
 */
export function declaredBases(ops: readonly AnyOp[], settings: OpSettings): DeclaredBase[] {
  const bases = new Map<string, { base: WriteBase; writers: AnyOp[] }>();
  for (const op of ops) {
    const base = op.writeBase?.(settings);
    if (base === undefined || (op.paths?.(settings).write.length ?? 0) === 0) continue;
    const known = bases.get(base.path);
    if (known === undefined) bases.set(base.path, { base, writers: [op] });
    else known.writers.push(op);
  }
  return [...bases.values()];
}

/**
 * Checks every write base of `ops` on disk (see {@linkcode writeBaseProblems}).
 *
 * @returns The problems of each base, by path; an empty list for a safe one.
 */
export async function baseProblems(
  ops: readonly AnyOp[],
  settings: OpSettings,
  lstat: Lstat = lstatInfo,
): Promise<Record<string, string[]>> {
  const problems: Record<string, string[]> = {};
  for (const { base } of declaredBases(ops, settings)) {
    problems[base.path] = await writeBaseProblems(base.path, lstat);
  }
  return problems;
}
