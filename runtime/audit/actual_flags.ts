/**
 * Check 2, the actual flags: the exact command lines the launcher's own builder produces, for
 * every op in both runner modes, and the receiver's two command lines (listener and executor) in
 * both modes. The listener must hold no run grant at all: Deno cannot restrict a run grant's
 * arguments, so `--allow-run=<deno>` in the network-facing process would be `--allow-all`.
 *
 * @module
 */
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import type { ChildCommand } from "../process/child_command.ts";
import type { ReceiverCommand } from "../server/receiver_commands.ts";
import type { ResolvedBinaries } from "../process/fence.ts";
import { type CheckResult, result } from "./types.ts";

/** What check 2 needs: the builders under audit, not copies of them. */
export interface FlagSources {
  readonly ops: readonly AnyOp[];
  readonly binaries: ResolvedBinaries;
  /** The settings the children are built for: an op's declared paths depend on them. */
  readonly settings: OpSettings;
  /** The launcher's builder, per runner mode. */
  childCommand(op: AnyOp, runner: "direct" | "sudo"): ChildCommand;
  /**
   * The receiver's builders, per runner mode: each process, and what it was told; a listener
   * may come in variants (TLS, a Unix socket, socket activation), each named.
   */
  receiverCommands(runner: "direct" | "sudo"): readonly {
    process: "listener" | "executor";
    variant?: string;
    command: ReceiverCommand;
    expected: Record<string, string>;
  }[];
}

const REQUIRED = ["--no-prompt", "--no-remote", "--frozen"];
/** A child runs sealed code: one bundle, no npm, no config, no lockfile, no code cache. */
const SEALED = [
  "--no-prompt",
  "--no-remote",
  "--no-npm",
  "--no-config",
  "--no-lock",
  "--no-code-cache",
];

/** Returns every `--allow-*`/`-A` grant in a flag list, as name → value ("" when unscoped). */
export function grantsOf(flags: readonly string[]): Map<string, string> {
  const grants = new Map<string, string>();
  for (const flag of flags) {
    if (flag === "-A" || flag === "--allow-all") grants.set("all", "");
    const match = /^--allow-([a-z]+)(?:=(.*))?$/.exec(flag);
    if (match) grants.set(match[1]!, match[2] ?? "");
  }
  return grants;
}

function loadingProblems(flags: readonly string[], sealed: boolean): string[] {
  const required = sealed ? SEALED : REQUIRED;
  const problems = required.filter((f) => !flags.includes(f)).map((f) => `missing ${f}`);
  if (sealed) {
    const loads = flags.filter((f) => /^--(config|lock|import-map|cached-only)(=|$)/.test(f));
    if (loads.length > 0) problems.push(`loads code through ${loads.join(" ")}`);
  } else {
    if (!flags.some((f) => /^--config=\//.test(f))) problems.push("no explicit absolute --config");
    if (!flags.some((f) => /^--lock=\//.test(f))) problems.push("no explicit absolute --lock");
  }
  if (flags.some((f) => /^-P|^--permission-set|^--unstable/.test(f))) {
    problems.push("a permission set or unstable flag");
  }
  return problems;
}

function compare(
  label: string,
  flags: readonly string[],
  expected: Record<string, string>,
  sealed = false,
): string[] {
  const problems = loadingProblems(flags, sealed).map((p) => `${label}: ${p}`);
  const actual = grantsOf(flags);
  for (const [kind, value] of actual) {
    if (value === "") problems.push(`${label}: unscoped grant --allow-${kind}`);
    else if (!(kind in expected)) {
      problems.push(`${label}: undeclared grant --allow-${kind}=${value}`);
    } else if (expected[kind] !== value) {
      problems.push(`${label}: --allow-${kind}=${value}, declared ${expected[kind]}`);
    }
  }
  for (const kind of Object.keys(expected)) {
    if (!actual.has(kind)) problems.push(`${label}: declared --allow-${kind} is missing`);
  }
  return problems;
}

/** Runs check 2. */
export function checkFlags(sources: FlagSources): CheckResult {
  const problems: string[] = [];
  const verified: string[] = [];
  const evidence: Record<string, unknown> = {};
  for (const op of sources.ops) {
    const run = (Array.isArray(op.permissions.run) ? op.permissions.run : [])
      .map((n) => sources.binaries[n as keyof ResolvedBinaries] ?? n).join(",");
    for (const runner of ["direct", "sudo"] as const) {
      const label = `${op.name} (${runner})`;
      let command: ChildCommand;
      try {
        command = sources.childCommand(op, runner);
      } catch (error) {
        problems.push(`${label}: the builder refused it: ${(error as Error).message}`);
        continue;
      }
      const all = [command.command, ...command.args];
      if (runner === "sudo" && (command.args[0] !== "-n" || command.args[1] !== "--")) {
        problems.push(`${label}: not run as sudo -n -- <deno>`);
      }
      const paths = op.paths?.(sources.settings);
      const expected: Record<string, string> = { run };
      if (paths?.read.length) expected.read = paths.read.join(",");
      if (paths?.write.length) expected.write = paths.write.join(",");
      problems.push(...compare(label, all, expected, true));
      const entry = all.find((a) => /^\/.*\.[jt]s$/.test(a));
      if (entry === undefined || !entry.endsWith("/dist/child.js")) {
        problems.push(`${label}: runs ${entry ?? "no module"}, not the sealed dist/child.js`);
      }
      const cache = command.env.DENO_DIR;
      if (cache !== undefined && !cache.startsWith("/dev/null/")) {
        problems.push(`${label}: DENO_DIR ${cache} is a cache the child could load code from`);
      }
      evidence[label] = all;
      const grants = Object.entries(expected).map(([kind, value]) => `--allow-${kind}=${value}`);
      verified.push(`${label}: ${grants.join(" ")} and nothing else`);
    }
  }
  for (const runner of ["direct", "sudo"] as const) {
    for (const { process, variant, command, expected } of sources.receiverCommands(runner)) {
      const label = `${process}${variant === undefined ? "" : ` ${variant}`} (${runner})`;
      const sealed = process === "listener";
      problems.push(...compare(label, command.denoFlags, expected, sealed));
      if (process === "listener" && grantsOf(command.denoFlags).has("run")) {
        problems.push(`${label}: holds a run grant, which is --allow-all for a Deno binary`);
      }
      const net = grantsOf(command.denoFlags).get("net") ?? "";
      if (process === "executor" && net.split(",").some((n) => !n.startsWith("unix:"))) {
        problems.push(`${label}: --allow-net=${net} reaches an IP network`);
      }
      evidence[label] = command.denoFlags;
      // Said, not failed: direct mode is the documented trade (README: Deployment).
      const unpinned = process === "executor" && runner === "direct"
        ? "; its run grant on Deno takes any arguments, so a compromised executor runs anything " +
          "as its user (sudo mode pins each child's command line)"
        : "";
      verified.push(
        `${label}: ${
          command.denoFlags.filter((f) => f.startsWith("--allow")).join(" ")
        }${unpinned}`,
      );
    }
  }
  return result("actual-flags", "Actual flags", problems, verified, evidence);
}
