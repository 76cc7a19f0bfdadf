/**
 * Check 1, the declared fence: every op's permission set lies inside the global fence, its
 * declared paths are absolute, normalised, never `/`, and written only inside what it reads and
 * inside the mount base, every run entry resolves to one canonical absolute path, and no two ops
 * share a binary.
 *
 * @module
 */
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { fenceProblems, type ResolvedBinaries } from "../process/fence.ts";
import { type CheckResult, result } from "./types.ts";

/** Runs check 1 for the given settings (declared paths depend on the mount base). */
export function checkDeclared(
  ops: readonly AnyOp[],
  binaries: ResolvedBinaries,
  settings: OpSettings,
): CheckResult {
  const problems: string[] = [];
  const verified: string[] = [];
  const owners = new Map<string, string>();
  for (const op of ops) {
    for (const problem of fenceProblems(op, settings)) problems.push(`${op.name}: ${problem}`);
    const run: readonly string[] = Array.isArray(op.permissions.run) ? op.permissions.run : [];
    for (const name of run) {
      const path = binaries[name as keyof ResolvedBinaries];
      if (path === undefined) {
        problems.push(`${op.name}: "${name}" does not resolve on the bin path`);
      } else if (!path.startsWith("/")) {
        problems.push(`${op.name}: "${name}" resolved to "${path}"`);
      }
      const owner = owners.get(name);
      if (owner !== undefined) problems.push(`${op.name} and ${owner} both run "${name}"`);
      owners.set(name, op.name);
    }
    const paths = op.paths?.(settings);
    const files = paths === undefined
      ? ""
      : `; read ${paths.read.join(", ") || "nothing"}; write ${
        paths.write.join(", ") || "nothing"
      }`;
    verified.push(
      `${op.name}: run ${
        run.map((n) => binaries[n as keyof ResolvedBinaries] ?? n).join(", ")
      }${files}`,
    );
  }
  return result("declared-fence", "Declared fence", problems, verified, { binaries });
}
