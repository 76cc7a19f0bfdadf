/**
 * The host commands `mount-usb` runs besides its main mount, and exact readers of their output:
 * the kernel's mount table through `findmnt --json`, and the device libmount resolves a UUID to
 * through `mount --fake --verbose`. Paths are compared whole, never as substrings.
 *
 * @module
 */
import { z } from "zod";
import type { HostCommand } from "../types.ts";

/** One mount, as `findmnt` reports it from /proc/self/mountinfo. */
export interface MountEntry {
  readonly target: string;
  /** The mounted device, without a bind mount's `[/dir]` suffix. */
  readonly source: string;
  readonly fsType: string;
  /** The filesystem UUID, when findmnt could tell (it probes devices as root). */
  readonly uuid: string | null;
  /** Per-mount options: where `ro`, `nosuid`, `nodev` and `noexec` live. */
  readonly vfsOptions: string;
  /** Superblock options. */
  readonly fsOptions: string;
}

/**
 * The mount table command: JSON, so mount points with spaces or newlines arrive exactly;
 * `--kernel` reads /proc/self/mountinfo, never fstab; `--nofsroot` keeps `source` a device.
 */
export const FINDMNT: HostCommand = {
  binary: "findmnt",
  args: [
    "--kernel",
    "--json",
    "--list",
    "--nofsroot",
    "--output",
    "TARGET,SOURCE,FSTYPE,UUID,VFS-OPTIONS,FS-OPTIONS",
  ],
};

const FindmntJson = z.object({
  filesystems: z.array(z.object({
    target: z.string(),
    source: z.string().nullable(),
    fstype: z.string().nullable(),
    uuid: z.string().nullable(),
    "vfs-options": z.string().nullable(),
    "fs-options": z.string().nullable(),
  })),
});

/**
 * Reads `findmnt` JSON (see {@linkcode FINDMNT}) into mount entries, in mount order.
 *
 * @returns The entries, or `undefined` when the text is not findmnt's JSON.
 * @example
 * ```ts
 * import { readMountTable } from "./_mount_table.ts";
 * import assert from "node:assert/strict";
 * const json = JSON.stringify({ filesystems: [{ target: "/mnt/usb/a b", source: "/dev/sdb1",
 *   fstype: "ext4", uuid: null, "vfs-options": "rw,nosuid", "fs-options": "rw" }] });
 * assert.equal(readMountTable(json)?.[0]?.target, "/mnt/usb/a b");
 * assert.equal(readMountTable("mount: oops"), undefined);
 * ```
 */
export function readMountTable(json: string): MountEntry[] | undefined {
  let parsed;
  try {
    parsed = FindmntJson.safeParse(JSON.parse(json));
  } catch {
    return undefined;
  }
  if (!parsed.success) return undefined;
  return parsed.data.filesystems.map((fs) => ({
    target: fs.target,
    source: fs.source ?? "",
    fsType: fs.fstype ?? "",
    uuid: fs.uuid,
    vfsOptions: fs["vfs-options"] ?? "",
    fsOptions: fs["fs-options"] ?? "",
  }));
}

/** A device path as libmount prints it: no spaces, and no segment starting with a dot. */
const DEVICE_LINE =
  /^mount: (\/dev\/(?:[A-Za-z0-9_@:+-][A-Za-z0-9._@:+-]*\/)*[A-Za-z0-9_@:+-][A-Za-z0-9._@:+-]*) mounted on /m;

/**
 * Reads the device from `mount --fake --verbose` output: `mount: /dev/sdb1 mounted on <target>.`
 *
 * @returns The device path, or `undefined` when no such line is there.
 * @example
 * ```ts
 * import { fakeMountDevice } from "./_mount_table.ts";
 * import assert from "node:assert/strict";
 * assert.equal(fakeMountDevice("mount: /dev/loop0 mounted on /mnt/usb/a.\n"), "/dev/loop0");
 * assert.equal(fakeMountDevice("mount: /dev/../etc mounted on /x.\n"), undefined);
 * ```
 */
export function fakeMountDevice(text: string): string | undefined {
  return DEVICE_LINE.exec(text)?.[1];
}

/** Whether a comma-separated option list holds this option. */
export function hasOption(options: string, option: string): boolean {
  return options.split(",").includes(option);
}

/** Whether the entry is the filesystem a request means: its device, or its UUID. */
export function isFilesystem(entry: MountEntry, device: string, uuid: string): boolean {
  return entry.source === device || entry.uuid === uuid;
}

/** Whether the mount is read-only, per mount or for the whole superblock. */
export function isReadOnly(entry: MountEntry): boolean {
  return hasOption(entry.vfsOptions, "ro") || hasOption(entry.fsOptions, "ro");
}
