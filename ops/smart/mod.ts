/**
 * `smart`: reads a disk's SMART data with `smartctl -a -j`, or, without a device, every disk
 * `smartctl --scan-open -j` finds, one report per disk.
 *
 * @module
 */
import { fail } from "../_output.ts";
import type { OpDefinition, OpSettings } from "../types.ts";
import { executeSmart, SCAN } from "./_execute.ts";
import { INPUT, type SmartInput } from "./_input.ts";
import { diskCommand, readDisk } from "./_read_disk.ts";
import { isSmartDisks, type SmartResult } from "./disks.ts";
import { smartDisksTable } from "./disks_table.ts";
import { smartFailOn } from "./fail_on.ts";
import { smartTable } from "./table.ts";

export { DEVICE_PATH, DEVICE_TYPE } from "./_input.ts";
export type { SmartInput } from "./_input.ts";

/** The error codes of `smart` beyond the runtime's. */
export const SMART_ERRORS = ["device_open_failed", "unknown_device_type"] as const;

/** One of {@linkcode SMART_ERRORS}. */
export type SmartError = typeof SMART_ERRORS[number];

/** The key every all-disk read takes: two never run at once. */
export const ALL_DISKS_KEY = "smart:all-disks";

/** The `smart` op. */
export const smart: OpDefinition<SmartInput, SmartResult, OpSettings, SmartError> = {
  name: "smart",
  summary: "Read SMART data of a disk, or of every disk (smartctl -a -j)",
  permissions: { run: ["smartctl"] },
  // Each smartctl is killed after 60 s and no disk read starts after 3 min (see _execute.ts):
  // this only backs those up.
  timeoutMs: 5 * 60_000,
  mutates: false,
  example: { device: "/dev/sda", deviceType: "sat" },
  errors: SMART_ERRORS,
  schema: () => INPUT,
  argv(spec) {
    if (spec.device === undefined) return SCAN;
    return diskCommand({ device: spec.device, deviceType: spec.deviceType });
  },
  parse(output, spec) {
    if (spec.device !== undefined) return readDisk(output, spec.device);
    return fail(
      "child_failed",
      "Cannot read every disk from the scan's output alone: smart without a device runs execute()",
    );
  },
  execute: (spec, _settings, host) => executeSmart(spec, host),
  render: (result) => isSmartDisks(result) ? smartDisksTable(result) : smartTable(result),
  failOn: smartFailOn,
  // Per device, so reads of different disks overlap. An all-disk read cannot name its disks
  // before the scan, so it takes its own key: it may overlap a one-disk read (both only read).
  resourceKeys: (spec) => [spec.device === undefined ? ALL_DISKS_KEY : diskKey(spec.device)],
};

/**
 * The key of the disk a device path reads. smartctl reads an NVMe namespace (`/dev/nvme0n1`)
 * through its controller (`/dev/nvme0`), so both take the controller's key.
 *
 * @example
 * ```ts
 * import { diskKey } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(diskKey("/dev/nvme0n1"), diskKey("/dev/nvme0"));
 * assert.equal(diskKey("/dev/sda"), "smart:/dev/sda");
 * ```
 */
export function diskKey(device: string): string {
  return `smart:${device.replace(/^(\/dev\/nvme[0-9]{1,3})n[0-9]{1,3}$/, "$1")}`;
}
