/**
 * `mount-usb`: mounts a filesystem by UUID on a directory exactly one level below the mount
 * base, always with `nosuid,nodev,noexec`.
 *
 * The kernel follows symlinks in every component of a mount target, so the op never names a
 * path deeper than `<base>/<name>` and checks, as root and through the child's own grants, that
 * the base is a real root-owned directory and the target a plain directory (creating it itself
 * when absent). It reads the mount table with `findmnt` before and after mounting: a filesystem
 * mounted elsewhere is refused, the same one on the same target is success, and a read-write
 * request the kernel turned read-only is reported as such.
 *
 * @module
 */
import { z } from "zod";
import type { OpDefinition } from "../types.ts";
import { mountArgs, parseMount } from "./_command.ts";
import { executeMount } from "./_execute.ts";

export { mountOptions } from "./_command.ts";
export { CREATED_DIR_MODE, directoryProblem } from "../_directory.ts";

/** Filesystems the op may mount; each has an in-kernel driver, so no helper runs. */
export const FS_TYPES = ["ext4", "xfs", "btrfs", "vfat", "exfat", "ntfs3"] as const;

/**
 * Filesystem UUIDs exactly as libblkid prints them: 36 lowercase characters (ext4, xfs, btrfs),
 * `XXXX-XXXX` uppercase (vfat, exfat) or 16 uppercase hex digits (ntfs). mount compares them as
 * strings, so a case-changed UUID could never match.
 */
export const FS_UUID =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9A-F]{4}-[0-9A-F]{4}|[0-9A-F]{16})$/;

/**
 * One path segment of a mount target or base: no leading dot or dash, no spaces, no separators,
 * no commas (Deno splits grant lists on them).
 */
export const TARGET_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

/** The default base directory for mount targets. */
export const DEFAULT_MOUNT_BASE = "/mnt/usb";

/**
 * Returns why a mount base is unusable as written, or `undefined` when it is an absolute,
 * normalised path of safe segments other than `/`. What is on disk is checked elsewhere.
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
  }).describe(`Mount point: one directory name directly inside ${base}`);
}

function targetProblem(target: string, base: string): string | undefined {
  const prefix = `${base}/`;
  if (!target.startsWith(prefix)) return `Mount target must be directly inside "${base}"`;
  const name = target.slice(prefix.length);
  // A mount point is a name, not a tree: anything deeper could pass through another mount.
  if (name.includes("/")) return `Mount target must be exactly one level below "${base}"`;
  if (!TARGET_SEGMENT.test(name)) return "Mount target name must match " + TARGET_SEGMENT.source;
  return undefined;
}

/** The error codes of `mount-usb` beyond the runtime's. */
export const MOUNT_USB_ERRORS = [
  "uuid_not_found",
  "already_mounted",
  "target_busy",
  "unknown_fs",
  "wrong_fs_type",
  "mount_base_unsafe",
  "target_unsafe",
  "mounted_read_only",
  "mount_unverified",
] as const;

/** One of {@linkcode MOUNT_USB_ERRORS}. */
export type MountUsbError = typeof MOUNT_USB_ERRORS[number];

/** The host settings of `mount-usb` (a type, not an interface: it must fit `OpSettings`). */
export type MountUsbSettings = {
  /** Directory that every mount target must lie directly inside. */
  readonly mountBase: string;
};

const mountBase = z.string().superRefine((base, ctx) => {
  const problem = mountBaseProblem(base);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
}).default(DEFAULT_MOUNT_BASE);

function inputSchema(settings: MountUsbSettings) {
  return z.strictObject({
    uuid: z.string().regex(
      FS_UUID,
      "must be a filesystem UUID as blkid prints it, such as 1298-0BD4 (vfat, exfat), " +
        "0A1B2C3D4E5F6071 (ntfs) or 3f6e1a52-8c4d-4f0e-9b1a-2d5c7e9f0a13 (ext4, xfs, btrfs)",
    ).describe("Filesystem UUID as blkid prints it"),
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
  /** The block device the UUID resolved to (absent only from `parse()` alone). */
  readonly device?: string;
  /** The mount's per-mount options as the kernel reports them (or as asked, from `parse()`). */
  readonly options: string;
  /** Whether the mount is read-only; always what was asked (a downgrade is an error). */
  readonly readOnly: boolean;
  /** True when the same filesystem was already mounted on the same target (idempotent). */
  readonly alreadyMounted: boolean;
  /** Warnings mount printed on success. */
  readonly warnings: string;
}

/** The `mount-usb` op. */
export const mountUsb: OpDefinition<
  MountUsbInput,
  MountUsbResult,
  MountUsbSettings,
  MountUsbError
> = {
  name: "mount-usb",
  summary: "Mount a filesystem by UUID directly below the mount base with nosuid,nodev,noexec",
  permissions: { run: ["mount", "findmnt"] },
  timeoutMs: 60_000,
  mutates: true,
  example: {
    uuid: "bac44334-c03f-49b1-9e0e-801902c005a2",
    target: `${DEFAULT_MOUNT_BASE}/backup`,
    fsType: "ext4",
    readOnly: true,
  },
  settings: {
    mountBase: {
      schema: mountBase,
      env: "ROOTFENCE_MOUNT_BASE",
      arg: "dir",
      help: "mount targets must be inside it",
    },
  },
  errors: MOUNT_USB_ERRORS,
  schema: inputSchema,
  // The child creates and removes targets itself, so it may write the base (never above it).
  paths: (settings) => ({ read: [settings.mountBase], write: [settings.mountBase] }),
  writeBase: (settings) => ({
    path: settings.mountBase,
    name: "mount base",
    unsafeCode: "mount_base_unsafe",
  }),
  argv(spec) {
    return { binary: "mount", args: mountArgs(spec) };
  },
  parse: parseMount,
  execute: executeMount,
  // The same disk must not be mounted twice at once, nor two disks on one target.
  resourceKeys: (spec) => [`mount:${spec.target}`, `fs-uuid:${spec.uuid}`],
};
