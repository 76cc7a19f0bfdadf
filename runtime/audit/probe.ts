/**
 * Check 4, the live probe: each op's exact child flags (the launcher's builder, only the entry
 * swapped for `runtime/probe.ts`) must refuse network, files, env, sys, ffi, remote and computed
 * imports, signals and every binary but the op's own, which must be allowed.
 *
 * @module
 */
import type { AnyOp } from "../../ops/types.ts";
import { type Launcher, PROBE_ENTRY } from "../launcher.ts";
import type { ProbeAttempt } from "../probe.ts";
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

/**
 * Starts the probe under an op's exact child flags and returns what each attempt got.
 *
 * @param tryRun Binaries to try to run (`--version`).
 * @param tryRead Directories to try to list.
 */
export async function runProbe(
  launcher: Launcher,
  op: AnyOp,
  tryRun: readonly string[],
  tryRead: readonly string[],
): Promise<ProbeAttempt[]> {
  const child = launcher.spawn(op, PROBE_ENTRY);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ input: { tryRun, tryRead } })));
  await writer.close();
  const output = await child.output();
  if (output.code !== 0) {
    throw new Error(
      `probe exited ${output.code}: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(output.stdout)).attempts;
}

/** Judges one op's probe: every problem found. */
export function probeProblems(
  attempts: readonly ProbeAttempt[],
  own: readonly string[],
  others: readonly string[],
  tryRead: readonly string[],
): string[] {
  const problems: string[] = [];
  const byName = new Map(attempts.map((a) => [a.attempt, a]));
  const expect = (name: string, pattern: RegExp) => {
    const got = byName.get(name);
    if (got === undefined) problems.push(`${name}: not tried`);
    else if (got.allowed) problems.push(`${name}: ALLOWED`);
    else if (!pattern.test(got.error)) problems.push(`${name}: refused with "${got.error}"`);
  };
  for (const [name, pattern] of Object.entries(REFUSED_WITH)) expect(name, pattern);
  for (const dir of tryRead) expect(`read ${dir}`, /^NotCapable: Requires read access/);
  for (const path of others) expect(`run ${path}`, /^NotCapable: Requires run access/);
  for (const path of own) {
    const got = byName.get(`run ${path}`);
    if (got?.allowed !== true) problems.push(`own binary ${path}: ${got?.error ?? "not tried"}`);
  }
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
  const all = Object.values(launcher.binaries).filter((p): p is string => p !== undefined);
  for (const op of ops) {
    const own = op.permissions.run.map((n) => launcher.binaries[n]).filter((p) => p !== undefined);
    const others = all.filter((p) => !own.includes(p));
    try {
      const attempts = await runProbe(launcher, op, [...own, ...others], [stateDir]);
      evidence[op.name] = attempts;
      problems.push(
        ...probeProblems(attempts, own, others, [stateDir]).map((p) => `${op.name}: ${p}`),
      );
      verified.push(
        `${op.name}: ${attempts.filter((a) => !a.allowed).length} attempts refused, own ${
          own.join(", ")
        } allowed`,
      );
    } catch (error) {
      problems.push(`${op.name}: ${(error as Error).message}`);
    }
  }
  return result("live-probe", "Live probe", problems, verified, evidence);
}
