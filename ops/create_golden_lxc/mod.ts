/**
 * `create-golden-lxc`: builds an unprivileged container with `nesting=1,keyctl=1` through
 * `pct create`, optionally with a network and converted into a template (`pct template`). Only
 * root@pam may set `keyctl`, which is why this op exists at all.
 *
 * No field carries a path, a password or a file: the child sees none, and pct runs as root.
 *
 * @module
 */
import { z } from "zod";
import type { OpDefinition, OpSettings } from "../types.ts";
import { createCommand, parseCreate, RULES } from "./_command.ts";
import { executeCreate } from "./_execute.ts";

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

/**
 * A network interface or bridge name: Linux's 15-character limit (IFNAMSIZ), inside PVE's
 * `[-_.\w\d]+`, lowercase and starting with a letter so it is never an option.
 */
export const IFACE_NAME = /^[a-z][a-z0-9_.-]{0,14}$/;

/** A PVE tag (`pve-tag`), lowercase only. */
export const TAG = /^[a-z0-9_][a-z0-9_.+-]*$/;

/**
 * The container description: printable ASCII on one line, not starting with `-` or a space.
 * pct stores it as comment lines of the config, so no newline may ever reach it.
 */
export const DESCRIPTION = /^[!-,.-~][ -~]*$/;

/** Architectures pct accepts (`arch` in pve-container LXC/Config.pm). */
export const ARCHES = ["amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"] as const;

/** OS types pct accepts (`ostype` in pve-container LXC/Config.pm). */
export const OSTYPES = [
  "debian",
  "devuan",
  "ubuntu",
  "centos",
  "fedora",
  "opensuse",
  "archlinux",
  "alpine",
  "gentoo",
  "nixos",
  "unmanaged",
] as const;

const ifaceName = (what: string) =>
  z.string().regex(
    IFACE_NAME,
    `must be ${what}: a lowercase letter, then up to 14 of a-z, 0-9, '_', '.', '-'`,
  );

const net0 = z.strictObject({
  name: ifaceName("an interface name such as eth0").describe("Interface name in the container"),
  bridge: ifaceName("a bridge name such as vmbr0").describe("Host bridge"),
  ip: z.union([z.literal("dhcp"), z.cidrv4()]).describe("IPv4: dhcp or an address/CIDR"),
  gw: z.ipv4().optional().describe("IPv4 gateway (only with a static ip)"),
  ip6: z.union([z.literal("auto"), z.literal("dhcp"), z.cidrv6()]).optional().describe(
    "IPv6: auto (SLAAC), dhcp or an address/CIDR",
  ),
  gw6: z.ipv6().optional().describe("IPv6 gateway (only with a static ip6)"),
  firewall: z.boolean().optional().describe("Use the PVE firewall on this interface"),
  tag: z.int().min(1).max(4094).optional().describe("VLAN tag, 1..4094"),
}).refine((n) => n.gw === undefined || n.ip !== "dhcp", {
  path: ["gw"],
  message: "needs a static ip: a gateway with ip=dhcp comes from DHCP",
}).refine((n) => n.gw6 === undefined || (n.ip6 !== undefined && n.ip6.includes("/")), {
  path: ["gw6"],
  message: "needs a static ip6 (address/CIDR)",
});

/** The `net0` field of {@linkcode CreateGoldenLxcInput}. */
export type Net0 = z.infer<typeof net0>;

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
  swapMb: z.int().min(0).max(16_777_216).optional().describe("Swap in MiB, 0..16777216"),
  net0: net0.optional().describe("First network interface (pct --net0)"),
  nameserver: z.array(z.union([z.ipv4(), z.ipv6()])).min(1).max(3).optional().describe(
    "DNS servers, 1 to 3 IP addresses",
  ),
  searchdomain: z.array(
    z.string().max(253).regex(HOSTNAME, "must be a DNS name such as example.lan"),
  ).min(1).max(6).optional().describe("DNS search domains, 1 to 6"),
  arch: z.enum(ARCHES).optional().describe("Architecture, when the template does not tell pct"),
  ostype: z.enum(OSTYPES).optional().describe("OS type, when pct cannot detect it"),
  tags: z.array(
    z.string().max(64).regex(TAG, "must be a tag: a-z, 0-9, '_' first, then also '.', '+', '-'"),
  ).min(1).max(32).optional().describe("PVE tags, joined by ';'"),
  description: z.string().max(1024).regex(
    DESCRIPTION,
    "must be one line of printable ASCII, not starting with '-' or a space",
  ).optional().describe("Notes shown in PVE, one line of printable ASCII"),
  onboot: z.boolean().optional().describe("Start the container when the host boots"),
  start: z.boolean().optional().describe("Start the container after it is created"),
  template: z.boolean().optional().describe(
    "Convert the container into a template (pct template) after a successful create",
  ),
}).refine((s) => !(s.start === true && s.template === true), {
  path: ["start"],
  message: "cannot be true with template: a template cannot be started",
});

/** Validated input of `create-golden-lxc`. */
export type CreateGoldenLxcInput = z.infer<typeof input>;

/** What a successful create reports. */
export interface CreateGoldenLxcResult {
  readonly vmid: number;
  readonly created: true;
  /** Whether `pct template` converted it into a template. */
  readonly template: boolean;
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
  "template_failed",
] as const;

/** One of {@linkcode CREATE_GOLDEN_LXC_ERRORS}. */
export type CreateGoldenLxcError = typeof CREATE_GOLDEN_LXC_ERRORS[number];

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
  // pct create takes minutes (extracting the template): its output streams as it comes.
  progress: true,
  example: {
    vmid: 9000,
    ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    storage: "local-lvm",
    rootfsGb: 8,
    cores: 2,
    memoryMb: 1024,
    hostname: "golden",
    swapMb: 512,
    net0: { name: "eth0", bridge: "vmbr0", ip: "10.0.0.5/24", gw: "10.0.0.1", firewall: true },
    nameserver: ["10.0.0.1"],
    searchdomain: ["example.lan"],
    tags: ["golden"],
    onboot: false,
    template: true,
    // No description: free text with spaces is its purpose, and the audit's hostile corpus
    // ("a b") would rightly flag it; the schema still refuses newlines and a leading "-".
  },
  errors: CREATE_GOLDEN_LXC_ERRORS,
  schema: () => input,
  argv: (spec) => createCommand(spec),
  parse: parseCreate,
  // `pct create`, then `pct template <vmid>` only after it succeeded (see _execute.ts).
  execute: (spec, _settings, host) => executeCreate(spec, host),
  resourceKeys: (spec) => [`vmid:${spec.vmid}`],
};

/** The classification table, exported for tests against real pct transcripts. */
export const PCT_RULES = RULES;
