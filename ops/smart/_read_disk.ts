/**
 * One disk's `smartctl -a -j`: its command line, and its output read into a report or a
 * classified failure. Shared by `smart` with a device and by every disk of an all-disk read.
 *
 * @module
 */
import { commandFailed, fail, tail } from "../_output.ts";
import type { CommandOutput, HostCommand, ParseOutcome } from "../types.ts";
import type { Disk } from "./_input.ts";
import type { SmartError } from "./mod.ts";
import { parseSmartctl } from "./parse_smartctl.ts";
import type { SmartReport } from "./report.ts";

/** How long one smartctl may run before it is killed: a dying disk can hang it. */
export const DISK_TIMEOUT_MS = 60_000;

const DEVICE_TYPE_PROBLEM =
  /Unable to detect device type|Unknown device type|Unknown USB bridge|USB bridge .* type is ambiguous|Unsupported USB bridge|Please specify device type/;

/** `smartctl -a -j [-d <type>] <device>`: the device last, after anything that starts with `-`. */
export function diskCommand(disk: Disk): HostCommand {
  const args = ["-a", "-j"];
  if (disk.deviceType !== undefined) args.push("-d", disk.deviceType);
  args.push(disk.device);
  return { binary: "smartctl", args };
}

/** The code of a message smartctl gave for a device it could not open. */
export function openFailureCode(message: string): SmartError | "denied" {
  if (DEVICE_TYPE_PROBLEM.test(message)) return "unknown_device_type";
  return /Permission denied/.test(message) ? "denied" : "device_open_failed";
}

/** Reads one disk's `smartctl -a -j` output. Pure. */
export function readDisk(
  output: CommandOutput,
  device: string,
): ParseOutcome<SmartReport, SmartError> {
  if (output.timedOut === true) {
    return fail(
      "timeout",
      `Cannot read SMART data of "${device}": smartctl was killed after ${
        DISK_TIMEOUT_MS / 1000
      } s`,
    );
  }
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
    return fail(code, `Cannot read SMART data of "${device}": ${tail(messages)}`);
  }
  if (report.exitStatus?.bits.includes("deviceOpen")) {
    const why = messages || "device open failed (no message)";
    const code = /Permission denied/.test(why) ? "denied" : "device_open_failed";
    return fail(code, `Cannot open "${device}": ${tail(why)}`);
  }
  return { ok: true, value: report };
}
