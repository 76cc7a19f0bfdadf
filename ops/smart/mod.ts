/**
 * `smart`: reads a disk's SMART data with `smartctl -a -j`.
 *
 * @module
 */
import { z } from "zod";
import { commandFailed, fail, tail } from "../_output.ts";
import type { OpDefinition } from "../types.ts";
import { decodeExitStatus, type SmartExitStatus } from "./exit_status.ts";

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
  device: z.string().max(220).regex(DEVICE_PATH).describe("Disk device, e.g. /dev/sda"),
  deviceType: z.string().max(32).regex(DEVICE_TYPE).optional().describe(
    "smartctl -d type, e.g. sat or megaraid,0",
  ),
});

/** Validated input of `smart`. */
export type SmartInput = z.infer<typeof input>;

/** What a successful read returns: the decoded exit status and smartctl's JSON document. */
export interface SmartResult {
  readonly exitStatus: SmartExitStatus;
  readonly smartctl: Record<string, unknown>;
}

const DEVICE_TYPE_PROBLEM =
  /Unable to detect device type|Unknown device type|Unknown USB bridge|USB bridge .* type is ambiguous|Unsupported USB bridge|Please specify device type/;

function messagesOf(doc: Record<string, unknown>): string {
  const smartctl = doc.smartctl as { messages?: { string?: unknown }[] } | undefined;
  return (smartctl?.messages ?? []).map((m) => String(m.string ?? "")).join("\n");
}

/**
 * Pre-7.3 SCSI output can print stray text (`  Pending defect count:`) before the JSON, on its
 * own line or glued to the opening brace; start at the first brace.
 */
export function jsonStart(stdout: string): string {
  const at = stdout.indexOf("{");
  return at <= 0 ? stdout : stdout.slice(at);
}

/** The `smart` op. */
export const smart: OpDefinition<SmartInput, SmartResult> = {
  name: "smart",
  summary: "Read SMART data of a disk (smartctl -a -j)",
  permissions: { run: ["smartctl"] },
  timeoutMs: 60_000,
  mutates: false,
  schema: () => input,
  argv(spec) {
    const args = ["-a", "-j"];
    if (spec.deviceType !== undefined) args.push("-d", spec.deviceType);
    args.push(spec.device);
    return { binary: "smartctl", args };
  },
  parse(output, spec) {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(jsonStart(output.stdout));
    } catch {
      if (output.stdoutTruncated) {
        return fail("output_too_large", "Cannot parse smartctl output: it exceeded the cap");
      }
      return commandFailed("smartctl", output);
    }
    const exitStatus = decodeExitStatus(output.exitCode);
    // Bits 0-1 mean smartctl produced no device data; bits 2-7 are health findings.
    if (exitStatus.bits.includes("commandLine")) {
      const messages = messagesOf(doc);
      const code = DEVICE_TYPE_PROBLEM.test(messages) ? "unknown_device_type" : "command_failed";
      return fail(code, `Cannot read SMART data of "${spec.device}": ${tail(messages)}`);
    }
    if (exitStatus.bits.includes("deviceOpen")) {
      const messages = messagesOf(doc) || "device open failed (no message)";
      const code = /Permission denied/.test(messages) ? "denied" : "device_open_failed";
      return fail(code, `Cannot open "${spec.device}": ${tail(messages)}`);
    }
    return { ok: true, value: { exitStatus, smartctl: doc } };
  },
  resourceKey: (spec) => `smart:${spec.device}`,
};
