/**
 * `mount-usb`: mounts a filesystem by UUID below the configured base directory, always with
 * `nosuid,nodev,noexec`. `mount --mkdir` creates the target, so the op needs no `mkdir` grant.
 *
 * @module
 */
import { z } from "zod";
import { classify, commandFailed, fail, type Rule, tail } from "../_output.ts";
import type { OpDefinition, OpSettings } from "../types.ts";

/** Filesystems the op may mount; each has an in-kernel driver, so no helper runs. */
export const FS_TYPES = ["ext4", "xfs", "btrfs", "vfat", "exfat", "ntfs3"] as const;

/**
 * Filesystem UUIDs exactly as libblkid prints them: 36 lowercase characters (ext4, xfs, btrfs),
 * `XXXX-XXXX` uppercase (vfat, exfat) or 16 uppercase hex digits (ntfs). mount compares them as
 * strings, so a case-changed UUID could never match.
 */
export const FS_UUID =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9A-F]{4}-[0-9A-F]{4}|[0-9A-F]{16})$/;

/** One path segment of a mount target: no leading dot or dash, no spaces, no separators. */
export const TARGET_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

/** The deepest target allowed below the base, in segments. */
export const MAX_TARGET_DEPTH = 4;

/** The default base directory for mount targets. */
export const DEFAULT_MOUNT_BASE = "/mnt/usb";

/**
 * Returns why a mount base is unusable, or `undefined` when it is an absolute, normalised path of
 * safe segments other than `/`.
 *
 * @example
 * ```ts
 * import { mountBaseProblem } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(mountBaseProblem("/mnt/usb"), undefined);
 * assert.match(mountBaseProblem("/mnt/../etc") ?? "", /segment/);
 * ```
 */
export function mountBaseProblem(base: string): string | undefined {
  if (!base.startsWith("/") || base === "/") return "must be an absolute path other than /";
  const segments = base.slice(1).split("/");
  if (segments.some((s) => !TARGET_SEGMENT.test(s))) {
    return "every segment must match " + TARGET_SEGMENT.source;
  }
  return undefined;
}

function targetSchema(base: string) {
  return z.string().max(255).superRefine((target, ctx) => {
    const problem = targetProblem(target, base);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  }).describe(`Mount point strictly inside ${base}`);
}

function targetProblem(target: string, base: string): string | undefined {
  const prefix = `${base}/`;
  if (!target.startsWith(prefix)) return `Mount target must be strictly inside "${base}"`;
  const segments = target.slice(prefix.length).split("/");
  if (segments.length > MAX_TARGET_DEPTH) {
    return `Mount target may be at most ${MAX_TARGET_DEPTH} levels below "${base}"`;
  }
  if (segments.some((s) => !TARGET_SEGMENT.test(s))) {
    return "Mount target must be normalised, with segments matching " + TARGET_SEGMENT.source;
  }
  return undefined;
}

function inputSchema(settings: OpSettings) {
  return z.strictObject({
    uuid: z.string().regex(FS_UUID).describe("Filesystem UUID as blkid prints it"),
    target: targetSchema(settings.mountBase),
    fsType: z.enum(FS_TYPES).describe("Filesystem type"),
    readOnly: z.boolean().optional().describe("Mount read-only"),
  });
}

/** Validated input of `mount-usb`. */
export type MountUsbInput = z.infer<ReturnType<typeof inputSchema>>;

/** What a successful mount reports. */
export interface MountUsbResult {
  readonly uuid: string;
  readonly target: string;
  readonly fsType: string;
  readonly options: string;
  /** True when the same filesystem was already mounted on the same target (idempotent). */
  readonly alreadyMounted: boolean;
  /** Warnings mount printed on success (for example a forced read-only mount). */
  readonly warnings: string;
}

// util-linux 2.38-2.41 message texts (libmount context_mount.c), run with LC_ALL=C.
const RULES: readonly Rule[] = [
  [/can't find UUID=/, "uuid_not_found"],
  [/already mounted or mount point busy|target is busy/, "target_busy"],
  [/already mounted on |is already mounted/, "already_mounted"],
  [/unknown filesystem type/, "unknown_fs"],
  [/wrong fs type, bad option, bad superblock/, "wrong_fs_type"],
  [/must be superuser|operation permitted for root only|Permission denied/, "denied"],
];

/** The mount options, fixed except for `ro`. */
export function mountOptions(readOnly: boolean | undefined): string {
  return readOnly === true ? "nosuid,nodev,noexec,ro" : "nosuid,nodev,noexec";
}

/** The `mount-usb` op. */
export const mountUsb: OpDefinition<MountUsbInput, MountUsbResult> = {
  name: "mount-usb",
  summary: "Mount a filesystem by UUID below the mount base with nosuid,nodev,noexec",
  permissions: { run: ["mount"] },
  timeoutMs: 60_000,
  mutates: true,
  example: {
    uuid: "bac44334-c03f-49b1-9e0e-801902c005a2",
    target: `${DEFAULT_MOUNT_BASE}/backup`,
    fsType: "ext4",
    readOnly: true,
  },
  schema: inputSchema,
  argv(spec) {
    // --internal-only: a /sbin/mount.<type> helper would run as root outside the fence.
    return {
      binary: "mount",
      args: [
        "--internal-only",
        "--mkdir=0755",
        "-t",
        spec.fsType,
        "-o",
        mountOptions(spec.readOnly),
        `UUID=${spec.uuid}`,
        spec.target,
      ],
    };
  },
  parse(output, spec) {
    const done = {
      uuid: spec.uuid,
      target: spec.target,
      fsType: spec.fsType,
      options: mountOptions(spec.readOnly),
    };
    if (output.exitCode === 0 && output.signal === null) {
      return {
        ok: true,
        value: { ...done, alreadyMounted: false, warnings: tail(output.stderr) },
      };
    }
    // The kernel answers EBUSY for the same filesystem on the same target: the wanted state.
    if (output.stderr.includes(` already mounted on ${spec.target}.`)) {
      return { ok: true, value: { ...done, alreadyMounted: true, warnings: "" } };
    }
    const code = classify(output.stderr, RULES);
    if (code === undefined) return commandFailed("mount", output);
    return fail(code, `Cannot mount UUID=${spec.uuid} on "${spec.target}": ${tail(output.stderr)}`);
  },
  // The same disk must not be mounted twice at once, nor two disks on one target.
  resourceKeys: (spec) => [`mount:${spec.target}`, `fs-uuid:${spec.uuid}`],
};
