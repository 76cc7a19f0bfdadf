/**
 * The human view of a SMART report, for operators (`deno task op smart --format table`).
 *
 * @module
 */
import { cell } from "../_table.ts";
import type { SmartExitStatus } from "./exit_status.ts";
import type { SmartReport } from "./report.ts";

function exitText(status: SmartExitStatus | null): string {
  if (status === null) return "unknown";
  return `${status.code}${status.bits.length ? ` (${status.bits.join(", ")})` : ""}`;
}

/**
 * Renders a SMART report as a short block: device, model, health and why, temperature,
 * power-on hours and wear.
 *
 * @example
 * ```ts
 * import { smartTable } from "./table.ts";
 * import { parseSmartctl } from "./parse_smartctl.ts";
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
    ["Serial", `${cell(report.serial)}   firmware ${cell(report.firmware)}`],
    ["Health", report.health.toUpperCase()],
  ];
  report.reasons.forEach((reason, i) => rows.push([i === 0 ? "Reasons" : "", `- ${reason}`]));
  rows.push(
    ["Temp", cell(report.temperatureC, "°C")],
    ["Power-on", cell(report.powerOnHours, "h")],
    ["Cycles", cell(report.powerCycles)],
    ["Wear", report.wearPercentUsed === null ? "-" : `${report.wearPercentUsed}% used`],
    ["Exit", exitText(report.exitStatus)],
  );
  for (const m of report.messages) rows.push(["Message", `[${m.severity}] ${m.text}`]);
  return rows.map(([k, v]) => `${k.padEnd(9)} ${v}`.trimEnd()).join("\n");
}
