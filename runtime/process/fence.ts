/**
 * The global fence: which binaries exist for the ops, where they are, and the check that no op
 * is ever granted anything outside the fence.
 *
 * @module
 */
import {
  type AnyOp,
  type BinaryName,
  FENCE_BINARIES,
  type OpSettings,
  type PathGrants,
  type WriteBase,
} from "../../ops/types.ts";
import { RootfenceError } from "../errors.ts";

/** Where fenced binaries are looked for unless `--bin-path` says otherwise (see `defaults.ts`). */
export { DEFAULT_BIN_PATH } from "../defaults.ts";

/** Fenced binaries resolved to canonical absolute paths; a missing one is absent. */
export type ResolvedBinaries = Readonly<Partial<Record<BinaryName, string>>>;

/**
 * Splits a bin path into directories, refusing relative entries (they would depend on the
 * working directory).
 *
 * @throws {RangeError} When an entry is empty or not absolute.
 */
export function binPathDirs(binPath: string): string[] {
  const dirs = binPath.split(":");
  for (const dir of dirs) {
    if (!dir.startsWith("/")) {
      throw new RangeError(`Cannot use bin path "${binPath}": "${dir}" is not absolute`);
    }
  }
  return dirs;
}

/**
 * Finds each fenced binary on the bin path and resolves it to its canonical path. Deno compares
 * `--allow-run` entries without following symlinks, so only canonical paths are granted and
 * spawned. Needs read permission on the bin path directories.
 *
 * @param binPath Colon-separated absolute directories, searched in order.
 * @returns The resolved binaries; those not found are left out.
 * @example
 * ```ts ignore
 * const binaries = await resolveBinaries("/usr/sbin:/usr/bin:/sbin:/bin");
 * binaries.smartctl; // "/usr/sbin/smartctl" where smartmontools is installed
 * ```
 */
export async function resolveBinaries(binPath: string): Promise<ResolvedBinaries> {
  const dirs = binPathDirs(binPath);
  const found: Partial<Record<BinaryName, string>> = {};
  for (const name of FENCE_BINARIES) {
    for (const dir of dirs) {
      const path = await executableRealPath(`${dir}/${name}`);
      if (path !== undefined) {
        found[name] = path;
        break;
      }
    }
  }
  return found;
}

async function executableRealPath(candidate: string): Promise<string | undefined> {
  try {
    const path = await Deno.realPath(candidate);
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0 ? path : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Returns the ways an op's declared permission set breaks the global fence (empty when it holds).
 * With settings, its declared paths are checked too (see {@linkcode pathGrantProblems}).
 *
 * @example
 * ```ts
 * import { fenceProblems } from "./fence.ts";
 * import { findOp } from "../../ops/mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(fenceProblems(findOp("smart")!), []);
 * assert.deepEqual(fenceProblems(findOp("mount-usb")!, { mountBase: "/mnt/usb" }), []);
 * ```
 */
export function fenceProblems(op: AnyOp, settings?: OpSettings): string[] {
  const problems: string[] = [];
  const fence: readonly string[] = FENCE_BINARIES;
  const grantKinds = Object.keys(op.permissions).filter((kind) => kind !== "run");
  for (const kind of grantKinds) problems.push(`grants "${kind}", which the fence never allows`);
  if (settings !== undefined && op.paths !== undefined) {
    problems.push(...pathGrantProblems(op.paths(settings), op.writeBase?.(settings)));
  }
  const run: unknown = op.permissions.run;
  if (!Array.isArray(run)) return [...problems, "run grant is not a list"];
  for (const name of run) {
    if (!fence.includes(name)) problems.push(`runs "${String(name)}", outside the fence`);
  }
  if (new Set(run).size !== run.length) problems.push("lists a binary twice");
  if (run.length === 0) problems.push("grants no binary at all");
  return problems;
}

/** An absolute path without empty, `.` or `..` segments, commas or NUL, and not `/`. */
/**
 * Whether a path may be granted as written: absolute, normalised, never `/`, and free of commas
 * (Deno's list separator in `--allow-*`) and NUL.
 */
export function normalisedPath(path: unknown): path is string {
  return typeof path === "string" && path.startsWith("/") && path !== "/" &&
    !/[,\0]/.test(path) &&
    path.slice(1).split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

/**
 * Returns the ways an op's declared paths are unsafe to grant (empty when they are fine). Deno
 * checks file grants against the path as written, so each must be absolute and normalised, never
 * `/`, and free of commas (Deno's list separator). Every write path must lie inside a read path
 * and inside the op's write base, the one directory whose safety the launcher checks on disk.
 *
 * @param grants The op's declared paths.
 * @param base The op's write base, if it declares one.
 * @example
 * ```ts
 * import { pathGrantProblems } from "./fence.ts";
 * import assert from "node:assert/strict";
 * const base = { path: "/mnt/usb", name: "mount base", unsafeCode: "mount_base_unsafe" };
 * assert.deepEqual(pathGrantProblems({ read: ["/mnt/usb"], write: ["/mnt/usb"] }, base), []);
 * assert.equal(pathGrantProblems({ read: ["/"], write: [] }, base).length, 1);
 * assert.equal(pathGrantProblems({ read: ["/srv"], write: ["/srv"] }).length, 1);
 * ```
 */
export function pathGrantProblems(grants: PathGrants, base?: WriteBase): string[] {
  const problems: string[] = [];
  const read: unknown = grants?.read;
  const write: unknown = grants?.write;
  if (!Array.isArray(read) || !Array.isArray(write)) return ["paths are not read and write lists"];
  for (const [kind, list] of [["read", read], ["write", write]] as const) {
    for (const path of list) {
      if (!normalisedPath(path)) {
        problems.push(`${kind} path ${JSON.stringify(path)} is not an absolute normalised path`);
      }
    }
    if (new Set(list).size !== list.length) problems.push(`lists a ${kind} path twice`);
  }
  for (const path of write.filter(normalisedPath)) {
    if (!read.some((root) => normalisedPath(root) && within(path, root))) {
      problems.push(`write path "${path}" is not inside a read path`);
    }
    if (base === undefined) {
      problems.push(`write path "${path}" is not inside a write base the launcher checks`);
    } else if (!within(path, base.path)) {
      problems.push(`write path "${path}" is not inside the ${base.name} "${base.path}"`);
    }
  }
  return problems;
}

/**
 * Throws unless the op's permission set (and, with settings, its declared paths) lies inside the
 * global fence.
 *
 * @throws {RootfenceError} `denied` naming every problem.
 */
export function assertInsideFence(op: AnyOp, settings?: OpSettings): void {
  const problems = fenceProblems(op, settings);
  if (problems.length > 0) {
    throw new RootfenceError("denied", `Cannot grant op "${op.name}": ${problems.join("; ")}`);
  }
}
