/**
 * The global fence: which binaries exist for the ops, where they are, and the check that no op
 * is ever granted anything outside the fence.
 *
 * @module
 */
import { type AnyOp, type BinaryName, FENCE_BINARIES } from "../ops/types.ts";
import { RootfenceError } from "./errors.ts";

/** Where fenced binaries are looked for unless `--bin-path` says otherwise. */
export const DEFAULT_BIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

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
 *
 * @example
 * ```ts
 * import { fenceProblems } from "./fence.ts";
 * import { findOp } from "../ops/mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(fenceProblems(findOp("smart")!), []);
 * ```
 */
export function fenceProblems(op: AnyOp): string[] {
  const problems: string[] = [];
  const fence: readonly string[] = FENCE_BINARIES;
  const grantKinds = Object.keys(op.permissions).filter((kind) => kind !== "run");
  for (const kind of grantKinds) problems.push(`grants "${kind}", which the fence never allows`);
  const run: unknown = op.permissions.run;
  if (!Array.isArray(run)) return [...problems, "run grant is not a list"];
  for (const name of run) {
    if (!fence.includes(name)) problems.push(`runs "${String(name)}", outside the fence`);
  }
  if (new Set(run).size !== run.length) problems.push("lists a binary twice");
  if (run.length === 0) problems.push("grants no binary at all");
  return problems;
}

/**
 * Throws unless the op's permission set lies inside the global fence.
 *
 * @throws {RootfenceError} `denied` naming every problem.
 */
export function assertInsideFence(op: AnyOp): void {
  const problems = fenceProblems(op);
  if (problems.length > 0) {
    throw new RootfenceError("denied", `Cannot grant op "${op.name}": ${problems.join("; ")}`);
  }
}
