/**
 * `smart`: reads a disk's SMART data with `smartctl -a -j`.
 *
 * @module
 */
import { z } from "zod";
import { commandFailed, fail, tail } from "../_output.ts";
import type { OpDefinition, OpSettings } from "../types.ts";
import { smartFailOn } from "./fail_on.ts";
import { parseSmartctl } from "./parse_smartctl.ts";
import type { SmartReport } from "./report.ts";
import { smartTable } from "./table.ts";

/**
 * Whole-disk device paths smartctl can query: SCSI/SATA, old IDE, SCSI generic, NVMe
 * controllers and namespaces, MegaRAID buses and the stable udev names. Nothing can start with
 * `-`, hold a space or climb with `..`.
 */
export const DEVICE_PATH =
  /^\/dev\/(?:sd[a-z]{1,3}|hd[a-z]|sg[0-9]{1,3}|nvme[0-9]{1,3}(?:n[0-9]{1,3})?|bus\/[0-9]{1,3}|disk\/by-(?:id|path)\/[A-Za-z0-9][A-Za-z0-9._:@+-]{0,200})$/;

/** `-d` values from smartctl's own list; controller members take a small port number. */
export const DEVICE_TYPE =
  /^(?:auto|ata|scsi|nvme|sat|sat,auto|sat,12|sat,16|usbcypress|usbjmicron|usbjmicron,x|usbjmicron,p|usbprolific|usbsunplus|sntasmedia|sntjmicron|sntrealtek|(?:sat\+)?megaraid,(?:[0-9]|[1-9][0-9]{1,2})|cciss,[0-9]{1,2}|3ware,[0-9]{1,2}|areca,[0-9]{1,2})$/;

const input = z.strictObject({
  device: z.string().max(220).regex(
    DEVICE_PATH,
    "must be a whole-disk device such as /dev/sda, /dev/nvme0 or /dev/disk/by-id/<id>",
  ).describe("Disk device, e.g. /dev/sda"),
  deviceType: z.string().max(32).regex(
    DEVICE_TYPE,
    "must be a smartctl -d type such as sat, nvme, usbjmicron or megaraid,0",
  ).optional().describe(
    "smartctl -d type, e.g. sat or megaraid,0",
  ),
});

/** Validated input of `smart`. */
export type SmartInput = z.infer<typeof input>;

const DEVICE_TYPE_PROBLEM =
  /Unable to detect device type|Unknown device type|Unknown USB bridge|USB bridge .* type is ambiguous|Unsupported USB bridge|Please specify device type/;

/** The error codes of `smart` beyond the runtime's. */
export const SMART_ERRORS = ["device_open_failed", "unknown_device_type"] as const;

/** One of {@linkcode SMART_ERRORS}. */
export type SmartError = typeof SMART_ERRORS[number];

/** The `smart` op. */
export const smart: OpDefinition<SmartInput, SmartReport, OpSettings, SmartError> = {
  name: "smart",
  summary: "Read SMART data of a disk (smartctl -a -j)",
  permissions: { run: ["smartctl"] },
  timeoutMs: 60_000,
  mutates: false,
  example: { device: "/dev/sda", deviceType: "sat" },
  errors: SMART_ERRORS,
  schema: () => input,
  argv(spec) {
    const args = ["-a", "-j"];
    if (spec.deviceType !== undefined) args.push("-d", spec.deviceType);
    args.push(spec.device);
    return { binary: "smartctl", args };
  },
  parse(output, spec) {
    const report = parseSmartctl(output.stdout, output.exitCode);
    if (report.parseError !== undefined) {
      if (output.stdoutTruncated) {
        return fail("output_too_large", "Cannot parse smartctl output: it exceeded the cap");
      }
      return commandFailed("smartctl", output);
    }
    // Bits 0-1 mean smartctl produced no device data; bits 2-7 are health findings.
    const messages = report.messages.map((m) => m.text).join("\n");
    if (report.exitStatus?.bits.includes("commandLine")) {
      const code = DEVICE_TYPE_PROBLEM.test(messages) ? "unknown_device_type" : "command_failed";
      return fail(code, `Cannot read SMART data of "${spec.device}": ${tail(messages)}`);
    }
    if (report.exitStatus?.bits.includes("deviceOpen")) {
      const why = messages || "device open failed (no message)";
      const code = /Permission denied/.test(why) ? "denied" : "device_open_failed";
      return fail(code, `Cannot open "${spec.device}": ${tail(why)}`);
    }
    return { ok: true, value: report };
  },
  render: smartTable,
  failOn: smartFailOn,
  resourceKeys: (spec) => [`smart:${spec.device}`],
};
