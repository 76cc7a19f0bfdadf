/**
 * `create-golden-lxc`: builds an unprivileged container with `nesting=1,keyctl=1` through
 * `pct create`. Only root@pam may set `keyctl`, which is why this op exists at all.
 *
 * @module
 */
import { z } from "zod";
import { classify, commandFailed, fail, type Rule, tail } from "../_output.ts";
import type { OpDefinition, OpSettings } from "../types.ts";

/** PVE storage id (`pve-storage-id`), which PVE matches case-insensitively. */
export const STORAGE_ID = /^[A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9]$/;

/**
 * Template volume id on a directory-like storage. The file-name class is PVE's own "safe chars";
 * only the three extensions every supported PVE release accepts.
 */
export const OSTEMPLATE =
  /^[A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9]:vztmpl\/[A-Za-z0-9][A-Za-z0-9._+=-]*\.tar\.(?:gz|xz|zst)$/;

/** A DNS name whose labels are at most 63 characters (stricter than PVE, which skips that). */
export const HOSTNAME =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

const input = z.strictObject({
  vmid: z.int().min(100).max(999_999_999).describe("Container id, 100..999999999"),
  ostemplate: z.string().max(255).regex(
    OSTEMPLATE,
    "must be a template volume such as local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  ).describe(
    "Template volume, <storage>:vztmpl/<name>.tar.(gz|xz|zst)",
  ),
  storage: z.string().min(2).max(64).regex(
    STORAGE_ID,
    "must be a storage id such as local-lvm: a letter first, then letters, digits, '.', '_', '-'",
  ).describe("Storage id for the root disk"),
  rootfsGb: z.int().min(1).max(99_999).describe("Root disk size in GiB"),
  cores: z.int().min(1).max(8192).optional().describe("CPU cores, 1..8192"),
  memoryMb: z.int().min(16).max(16_777_216).optional().describe("Memory in MiB, at least 16"),
  hostname: z.string().max(253).regex(
    HOSTNAME,
    "must be a DNS host name such as golden or golden.lan: labels of letters, digits and '-'",
  ).optional().describe("DNS host name"),
});

/** Validated input of `create-golden-lxc`. */
export type CreateGoldenLxcInput = z.infer<typeof input>;

/** What a successful create reports. */
export interface CreateGoldenLxcResult {
  readonly vmid: number;
  readonly created: true;
  /** The end of pct's task output, for the operator's log. */
  readonly log: string;
}

/** The error codes of `create-golden-lxc` beyond the runtime's. */
export const CREATE_GOLDEN_LXC_ERRORS = [
  "ct_exists",
  "storage_not_found",
  "template_not_found",
  "lock_timeout",
  "feature_root_only",
  "no_space",
] as const;

/** One of {@linkcode CREATE_GOLDEN_LXC_ERRORS}. */
export type CreateGoldenLxcError = typeof CREATE_GOLDEN_LXC_ERRORS[number];

// pct's messages, from pve-container, pve-storage and pve-cluster (see the reference notes).
// Order matters: the root-only 403 must win over the generic permission rule.
const RULES: readonly Rule<CreateGoldenLxcError | "denied">[] = [
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

/** The `create-golden-lxc` op. */
export const createGoldenLxc: OpDefinition<
  CreateGoldenLxcInput,
  CreateGoldenLxcResult,
  OpSettings,
  CreateGoldenLxcError
> = {
  name: "create-golden-lxc",
  summary: "Create an unprivileged LXC with nesting=1,keyctl=1 (pct create)",
  permissions: { run: ["pct"] },
  timeoutMs: 15 * 60_000,
  mutates: true,
  example: {
    vmid: 9000,
    ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    storage: "local-lvm",
    rootfsGb: 8,
    cores: 2,
    memoryMb: 1024,
    hostname: "golden",
  },
  errors: CREATE_GOLDEN_LXC_ERRORS,
  schema: () => input,
  argv(spec) {
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
    return { binary: "pct", args };
  },
  parse(output, spec) {
    if (output.exitCode === 0 && output.signal === null) {
      return { ok: true, value: { vmid: spec.vmid, created: true, log: tail(output.stdout) } };
    }
    const code = classify(output.stderr, RULES) ?? classify(output.stdout, RULES);
    if (code === undefined) return commandFailed("pct create", output);
    return fail(code, `Cannot create CT ${spec.vmid}: ${tail(output.stderr || output.stdout)}`);
  },
  resourceKeys: (spec) => [`vmid:${spec.vmid}`],
};

/** The classification table, exported for tests against real pct transcripts. */
export const PCT_RULES = RULES;
