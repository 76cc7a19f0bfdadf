/**
 * Check 4, the live probe: each op's exact child flags (the launcher's builder, only the entry
 * swapped for `runtime/audit/probe_child.ts`) must refuse network, files, env, sys, ffi, remote and computed
 * imports, signals and every binary but the op's own, which must be allowed; an op with declared
 * paths must hold them and be refused just outside them.
 *
 * @module
 */
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { type Launcher, PROBE_ENTRY } from "../process/launcher.ts";
import type { ProbeAttempt } from "./probe_child.ts";
import { type CheckResult, result } from "./types.ts";

/** Each attempt the probe makes, and the refusal it must get. */
export const REFUSED_WITH: Readonly<Record<string, RegExp>> = {
  "fetch http://127.0.0.1:58787/": /^NotCapable: Requires net access/,
  "Deno.listen 127.0.0.1:0": /^NotCapable: Requires net access/,
  "Deno.connect 127.0.0.1:9": /^NotCapable: Requires net access/,
  "import(https://esm.sh/zod@4.6.7)": /--no-remote is specified/,
  // The sealed child runs with --no-npm: no npm package resolves at all, cached or not.
  "import(computed npm specifier)": /--no-npm is specified/,
  "read /etc/passwd": /^NotCapable: Requires read access/,
  "write /tmp/rootfence-probe": /^NotCapable: Requires write access/,
  "env HOME": /^NotCapable: Requires env access/,
  "Deno.osRelease()": /^NotCapable: Requires sys access/,
  "Deno.dlopen libc.so.6": /^NotCapable: Requires ffi access/,
  "Deno.kill 1 SIGCONT": /^NotCapable: Requires run access/,
  "run /bin/sh": /^NotCapable: Requires run access/,
};

/** What one op's probe tries, and what each attempt must get. */
export interface ProbePlan {
  /** The op's own binaries: each must run. */
  readonly own: readonly string[];
  /** Every other fenced binary: each must be refused. */
  readonly others: readonly string[];
  /** Directories the child must not list. */
  readonly refusedRead: readonly string[];
  /** Directories the child must not create (if one is created, the probe removes it). */
  readonly refusedWrite: readonly string[];
  /** The op's declared paths: each must be granted (asked of Deno only, nothing touched). */
  readonly grantedRead: readonly string[];
  readonly grantedWrite: readonly string[];
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

/**
 * The probe plan for one op: its own binaries against all the others, and for file access the
 * state dir, `/`, and just outside each declared path: its parent, a sibling in that parent,
 * and a sibling whose name only starts with the declared one (`/mnt/usb-x` for `/mnt/usb`).
 *
 * @param binaries Every fenced binary resolved, by name.
 * @param stateDir A directory the child must not touch (the receiver's state, say).
 */
export function probePlan(
  op: AnyOp,
  binaries: Readonly<Partial<Record<string, string>>>,
  options: { readonly settings: OpSettings; readonly stateDir: string },
): ProbePlan {
  const { settings, stateDir } = options;
  const own = op.permissions.run.flatMap((name) => binaries[name] ?? []);
  const others = Object.values(binaries).filter((p): p is string =>
    p !== undefined && !own.includes(p)
  );
  const paths = op.paths?.(settings) ?? { read: [], write: [] };
  const declared = [...new Set([...paths.read, ...paths.write])];
  const beside = declared.flatMap((p) => [parentOf(p), `${p}-probe`]);
  return {
    own,
    others,
    refusedRead: [...new Set([stateDir, "/", ...beside])],
    refusedWrite: [
      ...new Set([
        `${stateDir}/rootfence-probe`,
        ...declared.flatMap((p) => [`${parentOf(p)}/rootfence-probe`, `${p}-probe`]),
      ]),
    ],
    grantedRead: paths.read,
    grantedWrite: paths.write,
  };
}

/** Starts the probe under an op's exact child flags and returns what each attempt got. */
export async function runProbe(
  launcher: Launcher,
  op: AnyOp,
  plan: ProbePlan,
): Promise<ProbeAttempt[]> {
  const child = launcher.spawn(op, PROBE_ENTRY);
  const writer = child.stdin.getWriter();
  const input = {
    tryRun: [...plan.own, ...plan.others],
    tryRead: plan.refusedRead,
    tryWrite: plan.refusedWrite,
    granted: { read: plan.grantedRead, write: plan.grantedWrite },
  };
  await writer.write(new TextEncoder().encode(JSON.stringify({ input })));
  await writer.close();
  const output = await child.output();
  if (output.code !== 0) {
    throw new Error(
      `probe exited ${output.code}: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(output.stdout)).attempts;
}

/** Judges one op's probe against its plan: every problem found. */
export function probeProblems(attempts: readonly ProbeAttempt[], plan: ProbePlan): string[] {
  const problems: string[] = [];
  const byName = new Map(attempts.map((a) => [a.attempt, a]));
  const expect = (name: string, pattern: RegExp) => {
    const got = byName.get(name);
    if (got === undefined) problems.push(`${name}: not tried`);
    else if (got.allowed) problems.push(`${name}: ALLOWED`);
    else if (!pattern.test(got.error)) problems.push(`${name}: refused with "${got.error}"`);
  };
  const allowed = (name: string, what: string) => {
    const got = byName.get(name);
    if (got?.allowed !== true) problems.push(`${what}: ${got?.error ?? "not tried"}`);
  };
  for (const [name, pattern] of Object.entries(REFUSED_WITH)) expect(name, pattern);
  for (const dir of plan.refusedRead) expect(`read ${dir}`, /^NotCapable: Requires read access/);
  for (const dir of plan.refusedWrite) {
    expect(`write ${dir}`, /^NotCapable: Requires write access/);
  }
  for (const path of plan.others) expect(`run ${path}`, /^NotCapable: Requires run access/);
  for (const path of plan.own) allowed(`run ${path}`, `own binary ${path}`);
  for (const path of plan.grantedRead) allowed(`granted read ${path}`, `own read ${path}`);
  for (const path of plan.grantedWrite) allowed(`granted write ${path}`, `own write ${path}`);
  return problems;
}

/** Runs check 4. */
export async function checkProbe(
  ops: readonly AnyOp[],
  launcher: Launcher,
  stateDir: string,
): Promise<CheckResult> {
  const problems: string[] = [];
  const verified: string[] = [];
  const evidence: Record<string, ProbeAttempt[]> = {};
  for (const op of ops) {
    const plan = probePlan(op, launcher.binaries, { settings: launcher.settings, stateDir });
    try {
      const attempts = await runProbe(launcher, op, plan);
      evidence[op.name] = attempts;
      problems.push(...probeProblems(attempts, plan).map((p) => `${op.name}: ${p}`));
      const paths = [...plan.grantedRead, ...plan.grantedWrite];
      verified.push(
        `${op.name}: ${attempts.filter((a) => !a.allowed).length} attempts refused, own ${
          plan.own.join(", ")
        }${paths.length > 0 ? ` and ${[...new Set(paths)].join(", ")}` : ""} allowed`,
      );
    } catch (error) {
      problems.push(`${op.name}: ${(error as Error).message}`);
    }
  }
  return result("live-probe", "Live probe", problems, verified, evidence);
}
