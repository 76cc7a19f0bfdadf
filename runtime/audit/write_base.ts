/**
 * The write-base check, one per base the ops declare (`mount-usb`'s mount base): root writes or
 * mounts below it and the child may write it, and both the kernel and Deno take its path as
 * written. So it, and every directory above it, must be a real directory owned by root that
 * nobody else may change (see `runtime/process/write_base.ts`); and no op may write anywhere but below
 * its base (for a mount point, one name deep at most: the schema's part, checked by the argument
 * fence's hostile corpus).
 *
 * @module
 */
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { pathGrantProblems } from "../process/fence.ts";
import { declaredBases, lstatInfo, writeBaseProblems } from "../process/write_base.ts";
import { type CheckResult, result } from "./types.ts";

/**
 * Runs the write-base checks. Needs read permission for each base and the directories above it.
 *
 * @param ops The ops under audit; those that declare paths must write only below their base.
 * @param settings The settings under audit, which place the bases.
 * @returns One check per base, its id and name from the base's (`mount-base`, "Mount base"); a
 * `write-base` check when no op writes anywhere.
 */
export async function checkWriteBases(
  ops: readonly AnyOp[],
  settings: OpSettings,
): Promise<CheckResult[]> {
  const declared = declaredBases(ops, settings);
  // Each op's declared paths are judged in its own base's check (the first, without a base).
  const pathProblems = new Map<string | undefined, string[]>();
  for (const op of ops) {
    const paths = op.paths?.(settings);
    if (paths === undefined) continue;
    const base = op.writeBase?.(settings);
    const at = declared.some((d) => d.base.path === base?.path) ? base?.path : undefined;
    const list = pathProblems.get(at) ?? [];
    list.push(...pathGrantProblems(paths, base).map((p) => `${op.name}: ${p}`));
    pathProblems.set(at, list);
  }
  const orphans = pathProblems.get(undefined) ?? [];
  if (declared.length === 0) {
    return [result("write-base", "Write base", orphans, ["no op writes anywhere"], {})];
  }
  const checks: CheckResult[] = [];
  for (const [i, { base, writers }] of declared.entries()) {
    const problems = (await writeBaseProblems(base.path)).map((p) => `${base.name}: ${p}`);
    problems.push(...pathProblems.get(base.path) ?? [], ...(i === 0 ? orphans : []));
    const names = writers.map((op) => op.name);
    const exists = await lstatInfo(base.path).then((info) => info !== undefined, () => false);
    const verified = [
      exists
        ? `"${base.path}" and every directory above it: real directories owned by root, not ` +
          "writable by group or others"
        : `"${base.path}" does not exist yet; every directory above it is safe, and ` +
          `${names.join(", ")} creates it (mode 0755) on first use`,
      `ops that write below it: ${names.join(", ")}`,
    ];
    const id = base.name.replaceAll(" ", "-");
    const name = base.name[0]!.toUpperCase() + base.name.slice(1);
    checks.push(result(id, name, problems, verified, { base: base.path, writers: names }));
  }
  return checks;
}
