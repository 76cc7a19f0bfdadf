/**
 * The host as Prometheus series, from the `smart` (every disk) and `sensors` results the ops
 * already parsed: nothing is parsed again here. Where a value means what a well-known exporter's
 * series means, it takes that series' name: node_exporter's hwmon collector for sensors
 * (`node_hwmon_temp_celsius`, ...) and smartctl_exporter for disks (`smartctl_device_*`). What
 * only rootfence knows, the verdict on each disk and its reasons, is `rootfence_smart_*`.
 *
 * Needs no permissions.
 *
 * @module
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { SmartDisk, SmartDisks } from "../../ops/smart/disks.ts";
import type { Health, SmartReport } from "../../ops/smart/report.ts";
import type { ReadingKind, SensorsReport } from "../../ops/sensors/parse_sensors.ts";

/** The verdict as a number: Nagios' plugin states (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). */
export const HEALTH_VALUES: Readonly<Record<Health, number>> = {
  ok: 0,
  warning: 1,
  failing: 2,
  unknown: 3,
};

/** One host read as the scrape sees it: how the last attempt went, and the last good value. */
export interface HostRead<T> {
  /** The last attempt, once one has finished. */
  readonly attempt?: {
    readonly ok: boolean;
    /** The error code of a failed attempt. */
    readonly code?: string;
  };
  /** The last good reading, and when its run started (ms since the epoch). */
  readonly good?: { readonly at: number; readonly value: T };
  /** Failed attempts since the executor started, by error code. */
  readonly failures: Readonly<Record<string, number>>;
}

/** Both host reads. */
export interface HostReads {
  readonly smart: HostRead<SmartDisks>;
  readonly sensors: HostRead<SensorsReport>;
}

/** smartctl_exporter's `device` label: the path without `/dev/` (`sda`, `nvme0`, `bus/0`). */
function deviceLabel(path: string): string {
  return path.startsWith("/dev/") ? path.slice("/dev/".length) : path;
}

/** A counter that may be a decimal string too large for a number. */
function count(value: number | string | null): number | null {
  if (value === null) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

/** The raw value of an ATA attribute, by id. */
function rawAttribute(report: SmartReport, id: number): number | null {
  return report.ata?.attributes.find((a) => a.id === id)?.raw ?? null;
}

/** ATA attributes: Reallocated_Sector_Ct and Current_Pending_Sector. */
const REALLOCATED = 5;
const PENDING = 197;

const DISK = ["device", "type"] as const;

/** Adds one series per disk of a `smart` read of every disk. */
function smartMetrics(registry: Registry, disks: readonly SmartDisk[]): void {
  const gauge = (name: string, help: string, extra: readonly string[] = []) =>
    new Gauge({ name, help, labelNames: [...DISK, ...extra], registers: [registry] });
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: [...DISK], registers: [registry] });
  const health = gauge(
    "rootfence_smart_health",
    "rootfence's verdict on the disk: 0 ok, 1 warning, 2 failing, 3 unknown (also a disk " +
      "that could not be read)",
  );
  const reason = gauge(
    "rootfence_smart_reason",
    "Each finding behind the verdict, one series per reason, value 1",
    ["reason"],
  );
  const passed = gauge(
    "smartctl_device_smart_status",
    "The drive's overall-health self-assessment: 1 passed, 0 failed",
  );
  const temperature = gauge(
    "smartctl_device_temperature",
    "Device temperature celsius",
    ["temperature_type"],
  );
  const powerOn = counter("smartctl_device_power_on_seconds", "Device power on seconds");
  const wear = counter(
    "smartctl_device_percentage_used",
    "Rated endurance used, in percent (NVMe percentage_used, else the SCSI or ATA indicator)",
  );
  const mediaErrors = counter(
    "smartctl_device_media_errors",
    "NVMe unrecovered data integrity errors (media_errors)",
  );
  const reallocated = gauge(
    "rootfence_smart_reallocated_sectors",
    "Sectors remapped: ATA attribute 5 raw value, or the SCSI grown defect list",
  );
  const pending = gauge(
    "rootfence_smart_pending_sectors",
    "Sectors waiting to be remapped: ATA attribute 197 raw value",
  );
  for (const disk of disks) {
    const labels = { device: deviceLabel(disk.device), type: disk.deviceType ?? "" };
    if (disk.status !== "read") {
      health.set(labels, HEALTH_VALUES.unknown);
      const why = disk.status === "failed"
        ? `not read: ${disk.error.code}`
        : `skipped: ${disk.reason}`;
      reason.set({ ...labels, reason: why }, 1);
      continue;
    }
    const report = disk.report;
    health.set(labels, HEALTH_VALUES[report.health]);
    for (const text of new Set(report.reasons)) reason.set({ ...labels, reason: text }, 1);
    if (report.smartPassed !== null) passed.set(labels, report.smartPassed ? 1 : 0);
    if (report.temperatureC !== null) {
      temperature.set({ ...labels, temperature_type: "current" }, report.temperatureC);
    }
    const hours = count(report.powerOnHours);
    if (hours !== null && hours >= 0) powerOn.inc(labels, hours * 3600);
    if (report.wearPercentUsed !== null && report.wearPercentUsed >= 0) {
      wear.inc(labels, report.wearPercentUsed);
    }
    const media = count(report.nvme?.mediaErrors ?? null);
    if (media !== null && media >= 0) mediaErrors.inc(labels, media);
    const remapped = rawAttribute(report, REALLOCATED) ??
      report.scsi?.grownDefects ?? null;
    if (remapped !== null) reallocated.set(labels, remapped);
    const waiting = rawAttribute(report, PENDING);
    if (waiting !== null) pending.set(labels, waiting);
  }
}

/** node_exporter's name part and unit for each reading kind, and the limits it names. */
const HWMON: Partial<
  Record<ReadingKind, {
    readonly unit: string;
    readonly scale: number;
    readonly limits: readonly ("min" | "max" | "crit")[];
    readonly help: string;
  }>
> = {
  temp: { unit: "_celsius", scale: 1, limits: ["min", "max", "crit"], help: "temperature" },
  in: { unit: "_volts", scale: 1, limits: ["min", "max", "crit"], help: "voltage" },
  fan: { unit: "_rpm", scale: 1, limits: ["min", "max"], help: "fan revolutions per minute" },
  power: { unit: "_watt", scale: 1, limits: ["max", "crit"], help: "power usage in watts" },
  curr: { unit: "_amps", scale: 1, limits: ["min", "max", "crit"], help: "current" },
  // node_exporter gives humidity as a ratio; lm-sensors in %RH.
  humidity: { unit: "", scale: 0.01, limits: [], help: "humidity, as a ratio" },
};

/** Adds one series per sensor reading and limit. */
function sensorsMetrics(registry: Registry, report: SensorsReport): void {
  const gauges = new Map<string, Gauge<"chip" | "sensor">>();
  const set = (name: string, help: string, labels: Record<string, string>, value: number) => {
    let gauge = gauges.get(name);
    if (gauge === undefined) {
      gauge = new Gauge({ name, help, labelNames: ["chip", "sensor"], registers: [registry] });
      gauges.set(name, gauge);
    }
    gauge.set(labels, value);
  };
  const energy = new Counter({
    name: "node_hwmon_energy_joule_total",
    help: "Hardware monitor for joules used so far (input)",
    labelNames: ["chip", "sensor"] as const,
    registers: [registry],
  });
  const alarm = new Gauge({
    name: "rootfence_sensor_alarm",
    help: "1 when any alarm of the reading is set (lm-sensors' *_alarm), else 0",
    labelNames: ["chip", "sensor", "kind"] as const,
    registers: [registry],
  });
  for (const chip of report.chips) {
    for (const reading of chip.readings) {
      const labels = { chip: chip.chip, sensor: reading.label };
      if (reading.alarm !== null) {
        alarm.set({ ...labels, kind: reading.kind }, reading.alarm ? 1 : 0);
      }
      if (reading.kind === "energy" && reading.input !== null && reading.input >= 0) {
        energy.inc(labels, reading.input);
      }
      const hwmon = HWMON[reading.kind];
      if (hwmon === undefined) continue;
      const values: [string, number | null][] = [
        ["", reading.input],
        ...hwmon.limits.map((limit): [string, number | null] => [`_${limit}`, reading[limit]]),
      ];
      for (const [part, value] of values) {
        if (value === null) continue;
        const what = part === "" ? "input" : part.slice(1);
        set(
          `node_hwmon_${reading.kind}${part}${hwmon.unit}`,
          `Hardware monitor for ${hwmon.help} (${what})`,
          labels,
          value * hwmon.scale,
        );
      }
    }
  }
}

/** `smart` and `sensors`: whether the last read worked, its age, and its failures. */
function readMetrics(registry: Registry, reads: HostReads, now: number): void {
  const success = new Gauge({
    name: "rootfence_host_read_success",
    help: "1 when the op's last host read succeeded, 0 when it failed",
    labelNames: ["op"] as const,
    registers: [registry],
  });
  const age = new Gauge({
    name: "rootfence_host_read_age_seconds",
    help: "Seconds since the run of the op's last good host read started",
    labelNames: ["op"] as const,
    registers: [registry],
  });
  const failures = new Counter({
    name: "rootfence_host_read_failures_total",
    help: "Host reads for metrics that failed since the executor started, by op and error code",
    labelNames: ["op", "code"] as const,
    registers: [registry],
  });
  for (const [op, read] of Object.entries(reads) as [string, HostRead<unknown>][]) {
    if (read.attempt !== undefined) success.set({ op }, read.attempt.ok ? 1 : 0);
    if (read.good !== undefined) age.set({ op }, Math.max(0, now - read.good.at) / 1000);
    for (const [code, times] of Object.entries(read.failures)) failures.inc({ op, code }, times);
  }
}

/**
 * Adds the host's series to a registry made for one scrape: every disk and sensor of the last
 * good reads (however old: their age is a series too), and how the reads went.
 *
 * @param registry The scrape's registry.
 * @param reads The last `smart` and `sensors` reads.
 * @param now The time, in ms since the epoch, for the reads' age.
 * @example
 * ```ts
 * import { Registry } from "prom-client";
 * import { hostMetrics } from "./host_metrics.ts";
 * import assert from "node:assert/strict";
 * const registry = new Registry();
 * const sensors = { chips: [{ chip: "k10temp-pci-00c3", adapter: "PCI adapter", readings: [
 *   { label: "Tctl", kind: "temp" as const, input: 45.5, min: null, max: 70, crit: null,
 *     alarm: null },
 * ] }], repairs: [], noSensors: false };
 * hostMetrics(registry, {
 *   smart: { failures: {} },
 *   sensors: { attempt: { ok: true }, good: { at: 0, value: sensors }, failures: {} },
 * }, 2000);
 * const text = await registry.metrics();
 * assert.match(text, /^node_hwmon_temp_celsius\{chip="k10temp-pci-00c3",sensor="Tctl"\} 45.5$/m);
 * assert.match(text, /^rootfence_host_read_age_seconds\{op="sensors"\} 2$/m);
 * ```
 */
export function hostMetrics(registry: Registry, reads: HostReads, now: number): void {
  readMetrics(registry, reads, now);
  smartMetrics(registry, reads.smart.good?.value.disks ?? []);
  sensorsMetrics(
    registry,
    reads.sensors.good?.value ?? { chips: [], repairs: [], noSensors: true },
  );
}
