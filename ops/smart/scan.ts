/**
 * Reads `smartctl --scan -j` / `--scan-open -j`.
 *
 * @module
 */
import { obj, objs, str } from "./_json.ts";

/** One device smartctl found. */
export interface ScannedDevice {
  /** The device path (`name`), e.g. `/dev/sda`; entries without one are dropped. */
  readonly name: string;
  /** The path with its type (`info_name`), e.g. `/dev/sda [SAT]`; `null` when absent. */
  readonly infoName: string | null;
  /** Pass this back as `-d` when querying the device. */
  readonly type: string | null;
  /** The protocol (`protocol`): `ATA`, `NVMe` or `SCSI`; `null` when absent. */
  readonly protocol: string | null;
  /** Only with `--scan-open`, when opening failed. */
  readonly openError: string | null;
}

/** What a scan found. */
export interface SmartScan {
  /** Every device with a name, in scan order; empty when none was found or on `error`. */
  readonly devices: readonly ScannedDevice[];
  /** Set when the output was not a smartctl JSON document. */
  readonly error?: string;
}

/**
 * Parses `smartctl --scan -j` output. No `devices` key means nothing was found. Never throws.
 *
 * @example
 * ```ts
 * import { parseSmartctlScan } from "./scan.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseSmartctlScan('{"smartctl":{"exit_status":0}}').devices, []);
 * ```
 */
export function parseSmartctlScan(stdout: string): SmartScan {
  let doc;
  try {
    doc = obj(JSON.parse(stdout.slice(Math.max(0, stdout.indexOf("{")))));
  } catch {
    doc = undefined;
  }
  if (doc === undefined) return { devices: [], error: "Cannot parse smartctl scan: not JSON" };
  const devices = objs(doc.devices).flatMap((device) => {
    const name = str(device.name);
    if (name === null) return [];
    return [{
      name,
      infoName: str(device.info_name),
      type: str(device.type),
      protocol: str(device.protocol),
      openError: str(device.open_error),
    }];
  });
  return { devices };
}
