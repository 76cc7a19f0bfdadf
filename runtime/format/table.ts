/**
 * Compact, human-readable views of SMART and sensors reports for operators.
 *
 * @module
 */
import type { SensorsReport } from "../../ops/sensors/parse_sensors.ts";
import type { SmartReport } from "../../ops/smart/report.ts";

const UNITS: Record<string, string> = {
  temp: "°C",
  fan: "RPM",
  in: "V",
  power: "W",
  curr: "A",
  energy: "J",
  humidity: "%RH",
};

function show(value: number | string | null | undefined, unit = ""): string {
  if (value === null || value === undefined) return "-";
  return unit ? `${value} ${unit}` : String(value);
}

/**
 * Renders a SMART report as a short block: device, model, health and why, temperature,
 * power-on hours and wear.
 *
 * @example
 * ```ts
 * import { smartTable } from "./table.ts";
 * import { parseSmartctl } from "../../ops/smart/parse_smartctl.ts";
 * import assert from "node:assert/strict";
 * const text = smartTable(parseSmartctl('{"smartctl":{"exit_status":0},"smart_status":{"passed":true}}'));
 * assert.match(text, /^Health +OK$/m);
 * ```
 */
export function smartTable(report: SmartReport): string {
  const d = report.device;
  const kind = [d.type, d.protocol].filter(Boolean).join(", ");
  const rows: [string, string][] = [
    ["Device", `${d.infoName ?? d.name ?? "-"}${kind ? ` (${kind})` : ""}`],
    ["Model", [report.family, report.model].filter(Boolean).join(" / ") || "-"],
    ["Serial", `${show(report.serial)}   firmware ${show(report.firmware)}`],
    ["Health", report.health.toUpperCase()],
  ];
  report.reasons.forEach((reason, i) => rows.push([i === 0 ? "Reasons" : "", `- ${reason}`]));
  rows.push(
    ["Temp", show(report.temperatureC, "°C")],
    ["Power-on", show(report.powerOnHours, "h")],
    ["Cycles", show(report.powerCycles)],
    ["Wear", report.wearPercentUsed === null ? "-" : `${report.wearPercentUsed}% used`],
    [
      "Exit",
      `${report.exitStatus.code}${
        report.exitStatus.bits.length ? ` (${report.exitStatus.bits.join(", ")})` : ""
      }`,
    ],
  );
  for (const m of report.messages) rows.push(["Message", `[${m.severity}] ${m.text}`]);
  return rows.map(([k, v]) => `${k.padEnd(9)} ${v}`.trimEnd()).join("\n");
}

/**
 * Renders a sensors report as one row per reading, then the repairs applied.
 *
 * @example
 * ```ts
 * import { sensorsTable } from "./table.ts";
 * import { parseSensors } from "../../ops/sensors/parse_sensors.ts";
 * import assert from "node:assert/strict";
 * const text = sensorsTable(parseSensors('{"acpitz-acpi-0":{"temp1":{"temp1_input": 27.8}}}'));
 * assert.match(text, /acpitz-acpi-0 +temp1 +temp +27\.8 °C/);
 * ```
 */
export function sensorsTable(report: SensorsReport): string {
  if (report.error !== undefined) return `Error: ${report.error}`;
  if (report.noSensors) return "No sensors found.";
  const header = ["CHIP", "LABEL", "KIND", "INPUT", "MIN", "MAX", "CRIT", "ALARM"];
  const rows = report.chips.flatMap((chip) =>
    chip.readings.length === 0
      ? [[chip.chip, "(no readable features)", "", "", "", "", "", ""]]
      : chip.readings.map((r) => {
        const unit = UNITS[r.kind] ?? "";
        return [
          chip.chip,
          r.label,
          r.kind,
          show(r.input, unit),
          show(r.min),
          show(r.max),
          show(r.crit),
          r.alarm === null ? "-" : r.alarm ? "ALARM" : "ok",
        ];
      })
  );
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const lines = all.map((row) =>
    row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()
  );
  for (const repair of report.repairs) lines.push(`repaired: ${repair}`);
  return lines.join("\n");
}
