/**
 * Turns `smartctl -a -j` output into a {@linkcode SmartReport}. Pure and total: it never throws.
 *
 * @module
 */
import { counter, type Json, num, obj, objs, str } from "./_json.ts";
import { decodeExitStatus } from "./exit_status.ts";
import { judge } from "./health.ts";
import type {
  AtaAttribute,
  NvmeHealth,
  ScsiErrorCounter,
  ScsiHealth,
  SmartMessage,
  SmartReport,
} from "./report.ts";

/** ATA attributes whose normalised value is the life left, in percent (as PVE reads them). */
const LIFE_LEFT_ATTRIBUTES = [
  "Media_Wearout_Indicator",
  "SSD_Life_Left",
  "Wear_Leveling_Count",
  "Perc_Rated_Life_Remain",
  "Remaining_Lifetime_Perc",
  "Percent_Lifetime_Remain",
  "Lifetime_Left",
  "PCT_Life_Remaining",
  "Lifetime_Remaining",
  "Percent_Life_Remaining",
];

/**
 * Sections that hold a device's data: a document with one of them (or any `scsi_*` key) but no
 * `smartctl` header is a capture another tool trimmed, not smartctl's error output.
 */
const DEVICE_SECTIONS = [
  "device",
  "smart_status",
  "ata_smart_attributes",
  "nvme_smart_health_information_log",
];

function hasDeviceSections(doc: Json): boolean {
  return Object.keys(doc).some((key) =>
    doc[key] !== null && (DEVICE_SECTIONS.includes(key) || key.startsWith("scsi_"))
  );
}

/**
 * Pre-7.3 SCSI output can print stray text (`  Pending defect count:`) before the JSON, on its
 * own line or glued to the opening brace; start at the first brace.
 */
export function jsonStart(stdout: string): string {
  const at = stdout.indexOf("{");
  return at <= 0 ? stdout : stdout.slice(at);
}

function attributes(doc: Json): AtaAttribute[] | null {
  const table = obj(doc.ata_smart_attributes)?.table;
  if (table === undefined) return null;
  return objs(table).flatMap((a) => {
    const id = num(a.id);
    if (id === null) return [];
    const raw = obj(a.raw);
    return [{
      id,
      name: str(a.name) ?? `attribute_${id}`,
      value: num(a.value),
      worst: num(a.worst),
      thresh: num(a.thresh),
      raw: num(raw?.value),
      rawString: str(raw?.string),
      prefailure: obj(a.flags)?.prefailure === true,
      whenFailed: str(a.when_failed) ?? "",
    }];
  });
}

function nvmeHealth(doc: Json): NvmeHealth | null {
  const log = obj(doc.nvme_smart_health_information_log);
  if (log === undefined) return null;
  return {
    criticalWarning: num(log.critical_warning),
    temperatureC: num(log.temperature),
    availableSpare: num(log.available_spare),
    availableSpareThreshold: num(log.available_spare_threshold),
    percentageUsed: num(log.percentage_used),
    dataUnitsRead: counter(log, "data_units_read"),
    dataUnitsWritten: counter(log, "data_units_written"),
    powerCycles: counter(log, "power_cycles"),
    powerOnHours: counter(log, "power_on_hours"),
    unsafeShutdowns: counter(log, "unsafe_shutdowns"),
    mediaErrors: counter(log, "media_errors"),
    errorLogEntries: counter(log, "num_err_log_entries"),
  };
}

function scsiHealth(doc: Json, protocol: string | null): ScsiHealth | null {
  const logs = obj(doc.scsi_error_counter_log);
  if (protocol !== "SCSI" && logs === undefined && doc.scsi_grown_defect_list === undefined) {
    return null;
  }
  const errorCounters: ScsiErrorCounter[] = ["read", "write", "verify"].flatMap((log) => {
    const entry = obj(logs?.[log]);
    if (entry === undefined) return [];
    return [{
      log,
      totalErrorsCorrected: counter(entry, "total_errors_corrected"),
      totalUncorrectedErrors: counter(entry, "total_uncorrected_errors"),
      gigabytesProcessed: str(entry.gigabytes_processed),
    }];
  });
  return { grownDefects: num(doc.scsi_grown_defect_list), errorCounters };
}

function deviceStatistic(doc: Json, name: string): number | null {
  for (const page of objs(obj(doc.ata_device_statistics)?.pages)) {
    for (const entry of objs(page.table)) {
      if (entry.name === name) return num(entry.value);
    }
  }
  return null;
}

function wearPercentUsed(
  doc: Json,
  attrs: readonly AtaAttribute[],
  nvme: NvmeHealth | null,
): number | null {
  const direct = num(obj(doc.endurance_used)?.current_percent) ??
    nvme?.percentageUsed ??
    num(doc.scsi_percentage_used_endurance_indicator) ??
    deviceStatistic(doc, "Percentage Used Endurance Indicator");
  if (direct !== null) return direct;
  for (const name of LIFE_LEFT_ATTRIBUTES) {
    const value = attrs.find((a) => a.name === name)?.value;
    if (value !== undefined && value !== null && value <= 100) return 100 - value;
  }
  return null;
}

function joined(...parts: (string | null)[]): string | null {
  const present = parts.filter((p): p is string => p !== null && p.trim() !== "");
  return present.length ? present.map((p) => p.trim()).join(" ") : null;
}

/**
 * Parses `smartctl -a -j` stdout (never stderr) into a normalised report with a health verdict.
 * Values too large for a JS number are read from their `*_s` string sibling. A capture another
 * tool trimmed of the `smartctl` header is still read when its device sections are there; its
 * reasons end with "the smartctl header is missing (a trimmed capture): exit status unknown".
 *
 * @param stdout smartctl's standard output.
 * @param exitCode smartctl's exit status; defaults to the one recorded in the JSON, and the
 * report's `exitStatus` is `null` when neither gives one.
 * @returns The report; on unreadable output, `health: "unknown"` and `parseError`.
 * @example
 * ```ts
 * import { parseSmartctl } from "./parse_smartctl.ts";
 * import assert from "node:assert/strict";
 * const report = parseSmartctl('{"smartctl":{"exit_status":0},"smart_status":{"passed":true}}');
 * assert.equal(report.health, "ok");
 * assert.equal(parseSmartctl("Segmentation fault").health, "unknown");
 * ```
 */
export function parseSmartctl(stdout: string, exitCode?: number): SmartReport {
  let doc: Json | undefined;
  let parseError: string | undefined;
  try {
    doc = obj(JSON.parse(jsonStart(stdout)));
    if (doc === undefined) parseError = "output is JSON but not an object";
  } catch (error) {
    parseError = `output is not JSON: ${(error as Error).message}`;
  }
  const data = doc ?? {};
  const smartctl = obj(data.smartctl);
  // A capture trimmed of its header is still read when its device sections are there.
  const trimmed = doc !== undefined && smartctl === undefined && hasDeviceSections(doc);
  if (doc !== undefined && smartctl === undefined && !trimmed) {
    parseError = "output has no smartctl section";
  }
  const code = exitCode ?? num(smartctl?.exit_status);
  const exitStatus = code === null ? null : decodeExitStatus(code);
  const device = obj(data.device);
  const protocol = str(device?.protocol);
  const attrs = attributes(data);
  const nvme = nvmeHealth(data);
  const scsi = scsiHealth(data, protocol);
  const status = obj(data.smart_status);
  const smartPassed = typeof status?.passed === "boolean" ? status.passed : null;
  const messages: SmartMessage[] = objs(smartctl?.messages).map((m) => ({
    severity: str(m.severity) ?? "information",
    text: str(m.string) ?? "",
  }));
  const version = Array.isArray(smartctl?.version) ? smartctl.version.join(".") : null;
  const verdict = parseError === undefined
    ? judge({ exitStatus, smartPassed, attributes: attrs ?? [], nvme, scsi })
    : { health: "unknown" as const, reasons: [parseError] };
  // Nothing in a trimmed capture says how smartctl exited, unless the caller knows.
  const trimmedNote = `the smartctl header is missing (a trimmed capture)${
    exitStatus === null ? ": exit status unknown" : ""
  }`;
  const reasons = trimmed ? [...verdict.reasons, trimmedNote] : verdict.reasons;
  const report: SmartReport = {
    device: {
      name: str(device?.name),
      infoName: str(device?.info_name),
      type: str(device?.type),
      protocol,
    },
    smartctlVersion: version,
    model: str(data.model_name) ?? str(data.scsi_model_name) ??
      joined(
        str(data.scsi_vendor) ?? str(data.vendor),
        str(data.scsi_product) ?? str(data.product),
      ),
    family: str(data.model_family),
    serial: str(data.serial_number),
    firmware: str(data.firmware_version) ?? str(data.scsi_revision) ?? str(data.revision),
    capacityBytes: counter(obj(data.user_capacity), "bytes") ??
      counter(data, "nvme_total_capacity"),
    exitStatus,
    messages,
    smartPassed,
    temperatureC: num(obj(data.temperature)?.current) ?? nvme?.temperatureC ??
      num(obj(data.scsi_temperature)?.current),
    powerOnHours: num(obj(data.power_on_time)?.hours) ?? nvme?.powerOnHours ?? null,
    powerCycles: num(data.power_cycle_count) ?? nvme?.powerCycles ??
      num(obj(data.scsi_start_stop_cycle_counter)?.accumulated_start_stop_cycles),
    ata: attrs === null ? null : { attributes: attrs },
    nvme,
    scsi,
    wearPercentUsed: wearPercentUsed(data, attrs ?? [], nvme),
    health: verdict.health,
    reasons,
  };
  return parseError === undefined ? report : { ...report, parseError };
}
