/**
 * The human view of a sensors report, for operators (`deno task op sensors --format table`).
 *
 * @module
 */
import { cell } from "../_table.ts";
import type { SensorsReport } from "./parse_sensors.ts";

const UNITS: Record<string, string> = {
  temp: "°C",
  fan: "RPM",
  in: "V",
  power: "W",
  curr: "A",
  energy: "J",
  humidity: "%RH",
};

/**
 * Renders a sensors report as one row per reading, then the repairs applied.
 *
 * @example
 * ```ts
 * import { sensorsTable } from "./table.ts";
 * import { parseSensors } from "./parse_sensors.ts";
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
          cell(r.input, unit),
          cell(r.min),
          cell(r.max),
          cell(r.crit),
          r.alarm === null ? "-" : r.alarm ? "ALARM" : "ok",
        ];
      })
  );
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const lines = all.map((row) =>
    row.map((text, i) => text.padEnd(widths[i]!)).join("  ").trimEnd()
  );
  for (const repair of report.repairs) lines.push(`repaired: ${repair}`);
  return lines.join("\n");
}
