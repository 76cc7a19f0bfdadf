/**
 * Small pure helpers the ops share when they render a result as a human table.
 *
 * @module
 */

/**
 * One table cell: `-` for a missing value, else the value with its unit.
 *
 * @example
 * ```ts
 * import { cell } from "./_table.ts";
 * import assert from "node:assert/strict";
 * assert.equal(cell(null), "-");
 * assert.equal(cell(35, "°C"), "35 °C");
 * ```
 */
export function cell(value: number | string | null | undefined, unit = ""): string {
  if (value === null || value === undefined) return "-";
  return unit ? `${value} ${unit}` : String(value);
}
