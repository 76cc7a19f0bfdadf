/**
 * The mount-base check: root mounts below it and the `mount-usb` child may write it, and both
 * the kernel and Deno take its path as written. So it, and every directory above it, must be a
 * real directory owned by root that nobody else may change (see `runtime/mount_base.ts`); and no
 * op may write anywhere but below it, one name deep at most for a mount point (the schema's
 * part, checked by the argument fence's hostile corpus).
 *
 * @module
 */
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { pathGrantProblems } from "../fence.ts";
import { lstatInfo, mountBaseProblems } from "../mount_base.ts";
import { type CheckResult, result } from "./types.ts";

/**
 * Runs the mount-base check. Needs read permission for the base and the directories above it.
 *
 * @param ops The ops under audit; those that declare paths must write only below the base.
 * @param settings The settings under audit, with the mount base.
 */
export async function checkMountBase(
  ops: readonly AnyOp[],
  settings: OpSettings,
): Promise<CheckResult> {
  const base = settings.mountBase;
  const problems = (await mountBaseProblems(base)).map((p) => `mount base: ${p}`);
  const verified: string[] = [];
  const writers: string[] = [];
  for (const op of ops) {
    const paths = op.paths?.(settings);
    if (paths === undefined) continue;
    problems.push(...pathGrantProblems(paths, settings).map((p) => `${op.name}: ${p}`));
    if (paths.write.length > 0) writers.push(op.name);
  }
  const exists = await lstatInfo(base).then((info) => info !== undefined, () => false);
  verified.push(
    exists
      ? `"${base}" and every directory above it: real directories owned by root, not writable ` +
        "by group or others"
      : `"${base}" does not exist yet; every directory above it is safe, and mount-usb creates ` +
        "it (mode 0755) on first use",
  );
  verified.push(`ops that write below it: ${writers.join(", ") || "none"}`);
  return result("mount-base", "Mount base", problems, verified, { base, writers });
}
