/**
 * The result of `smart` without a device: one entry per disk `smartctl --scan-open` listed,
 * each read, failed or skipped on its own, so one bad disk never hides the others.
 *
 * @module
 */
import type { ErrorCode } from "../types.ts";
import type { SmartReport } from "./report.ts";

/** What every entry says of its disk, as the scan listed it. */
export interface SmartDiskBase {
  /** The device path the scan listed (`name`), e.g. `/dev/sda`. */
  readonly device: string;
  /** The type the scan reported, passed back as `-d`; `null` when it gave none. */
  readonly deviceType: string | null;
  /** The scan's protocol (`ATA`, `NVMe` or `SCSI`); `null` when absent. */
  readonly protocol: string | null;
}

/** A disk whose SMART data was read. */
export interface SmartDiskRead extends SmartDiskBase {
  /** It was read. */
  readonly status: "read";
  /** The same normalised report `smart` gives for one device. */
  readonly report: SmartReport;
}

/** A disk smartctl could not read, or that the scan itself could not open. */
export interface SmartDiskFailed extends SmartDiskBase {
  /** It could not be read. */
  readonly status: "failed";
  /** Why, as `smart` with that device alone would have failed. */
  readonly error: {
    /**
     * A stable code: `device_open_failed`, `unknown_device_type`, `denied`, `timeout` (the read
     * was killed, or never started because the run's time budget was spent), `command_failed`
     * or `output_too_large`.
     */
    readonly code: ErrorCode;
    /** What went wrong, in smartctl's own words where it gave any. */
    readonly message: string;
  };
}

/**
 * A device rootfence would not pass to smartctl: its name or type is outside the anchored
 * patterns a user's input must match, or the scan listed more disks than one run reads.
 */
export interface SmartDiskSkipped extends SmartDiskBase {
  /** Nothing was run for it. */
  readonly status: "skipped";
  /** Why, e.g. `device: must be a whole-disk device such as /dev/sda, ...`. */
  readonly reason: string;
}

/** One disk of an all-disk read. */
export type SmartDisk = SmartDiskRead | SmartDiskFailed | SmartDiskSkipped;

/** Every disk the scan listed, in scan order, and how they fared. */
export interface SmartDisks {
  /** One entry per device the scan listed, in scan order; empty when it listed none. */
  readonly disks: readonly SmartDisk[];
  /** How many disks the scan listed, and how many of them have each status. */
  readonly counts: {
    /** Every entry of `disks`. */
    readonly found: number;
    /** Entries with status `read`. */
    readonly read: number;
    /** Entries with status `failed`. */
    readonly failed: number;
    /** Entries with status `skipped`. */
    readonly skipped: number;
  };
}

/** The result of `smart`: one report with a device, every disk without one. */
export type SmartResult = SmartReport | SmartDisks;

/**
 * Whether a `smart` result is the all-disk form.
 *
 * @example
 * ```ts
 * import { isSmartDisks } from "./disks.ts";
 * import { parseSmartctl } from "./parse_smartctl.ts";
 * import assert from "node:assert/strict";
 * const none = { disks: [], counts: { found: 0, read: 0, failed: 0, skipped: 0 } };
 * assert.equal(isSmartDisks(none), true);
 * assert.equal(isSmartDisks(parseSmartctl('{"smartctl":{"exit_status":0}}')), false);
 * ```
 */
export function isSmartDisks(result: SmartResult): result is SmartDisks {
  return "disks" in result;
}
