/**
 * The two pct command lines of `create-golden-lxc` (`pct create`, then optionally
 * `pct template`) and how their output reads. Pure.
 *
 * @module
 */
import { classify, commandFailed, fail, type Rule, tail } from "../_output.ts";
import type { CommandOutput, HostCommand, ParseOutcome } from "../types.ts";
import type {
  CreateGoldenLxcError,
  CreateGoldenLxcInput,
  CreateGoldenLxcResult,
  Net0,
} from "./mod.ts";

/**
 * `pct create`'s messages, from pve-container, pve-storage and pve-cluster (see the reference
 * notes), to error codes. Order matters: the root-only 403 must win over the generic permission
 * rule.
 */
export const RULES: readonly Rule<CreateGoldenLxcError | "denied">[] = [
  [/changing feature flags.* only allowed for root@pam/, "feature_root_only"],
  [/403 Permission check failed|please run as root/, "denied"],
  [/\b(?:CT|VM) \d+ already exists on node '/, "ct_exists"],
  [
    /can't lock file '[^']*' - got timeout|cfs-lock '[^']*' error: got lock request timeout/,
    "lock_timeout",
  ],
  [/storage '[^']+' does not exists?\b/, "storage_not_found"],
  [/volume '[^']+' does not exist|can't find file '|no such template/, "template_not_found"],
  [
    /No space left on device|not enough free space|insufficient free space|out of space/i,
    "no_space",
  ],
];

const flag = (value: boolean) => (value ? "1" : "0");

/**
 * Serialises `net0` into pct's property string. Every value is anchored by the schema so none
 * can hold `,` or `=`, which is what keeps one component from adding another key.
 */
export function net0Value(net: Net0): string {
  const parts = [`name=${net.name}`, `bridge=${net.bridge}`, `ip=${net.ip}`];
  if (net.gw !== undefined) parts.push(`gw=${net.gw}`);
  if (net.ip6 !== undefined) parts.push(`ip6=${net.ip6}`);
  if (net.gw6 !== undefined) parts.push(`gw6=${net.gw6}`);
  if (net.firewall !== undefined) parts.push(`firewall=${flag(net.firewall)}`);
  if (net.tag !== undefined) parts.push(`tag=${net.tag}`);
  return parts.join(",");
}

/** `pct create` for a validated input: the op's main command. */
export function createCommand(spec: CreateGoldenLxcInput): HostCommand {
  // Positionals first: a pct boolean option would swallow a following positional.
  const args = [
    "create",
    String(spec.vmid),
    spec.ostemplate,
    "--unprivileged",
    "1",
    "--features",
    "nesting=1,keyctl=1",
    "--rootfs",
    `${spec.storage}:${spec.rootfsGb}`,
  ];
  if (spec.cores !== undefined) args.push("--cores", String(spec.cores));
  if (spec.memoryMb !== undefined) args.push("--memory", String(spec.memoryMb));
  if (spec.hostname !== undefined) args.push("--hostname", spec.hostname);
  if (spec.swapMb !== undefined) args.push("--swap", String(spec.swapMb));
  if (spec.net0 !== undefined) args.push("--net0", net0Value(spec.net0));
  if (spec.nameserver !== undefined) args.push("--nameserver", spec.nameserver.join(" "));
  if (spec.searchdomain !== undefined) args.push("--searchdomain", spec.searchdomain.join(" "));
  if (spec.arch !== undefined) args.push("--arch", spec.arch);
  if (spec.ostype !== undefined) args.push("--ostype", spec.ostype);
  if (spec.tags !== undefined) args.push("--tags", spec.tags.join(";"));
  // `--opt=value`: free text starting with "-" can never read as an option (pct's Getopt::Long).
  if (spec.description !== undefined) args.push(`--description=${spec.description}`);
  // Booleans always with their value, so none can swallow what follows.
  if (spec.onboot !== undefined) args.push("--onboot", flag(spec.onboot));
  if (spec.start !== undefined) args.push("--start", flag(spec.start));
  return { binary: "pct", args };
}

/** `pct template <vmid>`: run only after a successful create. */
export function templateCommand(spec: CreateGoldenLxcInput): HostCommand {
  return { binary: "pct", args: ["template", String(spec.vmid)] };
}

/** Reads `pct create`'s output. */
export function parseCreate(
  output: CommandOutput,
  spec: CreateGoldenLxcInput,
): ParseOutcome<CreateGoldenLxcResult, CreateGoldenLxcError> {
  if (output.exitCode === 0 && output.signal === null) {
    return {
      ok: true,
      value: { vmid: spec.vmid, created: true, template: false, log: tail(output.stdout) },
    };
  }
  const code = classify(output.stderr, RULES) ?? classify(output.stdout, RULES);
  if (code === undefined) return commandFailed("pct create", output);
  return fail(code, `Cannot create CT ${spec.vmid}: ${tail(output.stderr || output.stdout)}`);
}

/**
 * Reads `pct template`'s output after a create that succeeded: any failure is `template_failed`,
 * whose message says the container exists but is not a template.
 */
export function parseTemplate(
  output: CommandOutput,
  created: CreateGoldenLxcResult,
): ParseOutcome<CreateGoldenLxcResult, CreateGoldenLxcError> {
  if (output.exitCode === 0 && output.signal === null) {
    return { ok: true, value: { ...created, template: true } };
  }
  const why = tail(output.stderr || output.stdout) ||
    (output.signal === null ? `exit status ${output.exitCode}` : `signal ${output.signal}`);
  return fail(
    "template_failed",
    `Cannot convert CT ${created.vmid} to a template: it was created but is not a template: ${why}`,
  );
}
