/**
 * Turns `sensors -j` output into chips and typed readings. Pure and total: it never throws.
 *
 * @module
 */
import { repairSensorsJson } from "./repair.ts";

/** What a reading measures; the unit follows from it (°C, RPM, V, W, A, J, %RH). */
export const READING_KINDS = [
  "temp",
  "fan",
  "in",
  "power",
  "curr",
  "energy",
  "humidity",
  "intrusion",
  "other",
] as const;

/** One of {@linkcode READING_KINDS}. */
export type ReadingKind = typeof READING_KINDS[number];

/** One feature of a chip. A limit of `null` means "none" (including lm-sensors' sentinels). */
export interface Reading {
  /** The feature's key in the chip: its label (`Core 0`, `Composite`) or its name (`temp1`). */
  readonly label: string;
  /** What it measures, from its subfeature names (`temp1_input`) or else its label. */
  readonly kind: ReadingKind;
  /**
   * The current value in the kind's unit, from `_input` (else `_average`; for `other`, a lone
   * subfeature); `null` when absent or not a number, and always for `intrusion`.
   */
  readonly input: number | null;
  /** The low limit, from `_min`; `null` also for a voltage whose limits are both 0 (unset). */
  readonly min: number | null;
  /** The high limit, from `_max` (else a power `_cap`); `null` also for unset voltage limits. */
  readonly max: number | null;
  /** The critical limit, from `_crit`. */
  readonly crit: number | null;
  /** `null` when the chip has no alarm for this feature. */
  readonly alarm: boolean | null;
}

/** One chip. */
export interface Chip {
  /** The chip's name, its top-level key in `sensors -j`, e.g. `coretemp-isa-0000`. */
  readonly chip: string;
  /** The bus it sits on (its `Adapter` key), e.g. `ISA adapter`; `null` when absent. */
  readonly adapter: string | null;
  /** One per feature (every key but `Adapter`), in output order. */
  readonly readings: readonly Reading[];
}

/** Everything read from one `sensors -j` run. */
export interface SensorsReport {
  /** Every chip, in output order; empty with `noSensors` or `error`. */
  readonly chips: readonly Chip[];
  /** Every tolerant fix applied to the output, in plain words. */
  readonly repairs: readonly string[];
  /** True when lm-sensors found no chip (its exit 1 with `{}`). */
  readonly noSensors: boolean;
  /** Set when the output could not be read at all. */
  readonly error?: string;
}

const SUBFEATURE = /^([a-z]+)([0-9]*)_(.+)$/;
const LABEL_KIND = /^(temp|fan|in|power|curr|energy|humidity|intrusion)[0-9]+$/;

function kindOf(prefix: string): ReadingKind {
  return (READING_KINDS as readonly string[]).includes(prefix) && prefix !== "other"
    ? prefix as ReadingKind
    : "other";
}

/** NVMe drives report 65261.850 and -273.150 where they have no limit. */
function limit(value: number | null): number | null {
  if (value === null || value >= 65261.85 || value <= -273.15) return null;
  return value;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function reading(label: string, raw: unknown): Reading {
  const subs = typeof raw === "object" && raw !== null && !Array.isArray(raw)
    ? raw as Record<string, unknown>
    : {};
  const by = new Map<string, number | null>();
  let prefix = "";
  for (const [name, value] of Object.entries(subs)) {
    const match = SUBFEATURE.exec(name);
    if (match === null) continue;
    prefix ||= match[1]!;
    by.set(match[3]!, numberOrNull(value));
  }
  if (prefix === "") prefix = LABEL_KIND.exec(label)?.[1] ?? "other";
  const kind = kindOf(prefix);
  const alarms = [...by].filter(([rest]) => rest === "alarm" || rest.endsWith("_alarm"));
  let alarm = alarms.length === 0 ? null : alarms.some(([, v]) => v !== null && v !== 0);
  let min = limit(by.get("min") ?? null);
  let max = limit(by.get("max") ?? by.get("cap") ?? null);
  // Super-I/O voltages with both limits 0 are unconfigured; their alarm bit means nothing.
  if (kind === "in" && min === 0 && max === 0) {
    min = null;
    max = null;
    if (alarm !== null) alarm = false;
  }
  const first = by.size === 1 ? [...by.values()][0]! : null;
  const input = by.get("input") ?? by.get("average") ?? (kind === "other" ? first : null);
  return {
    label,
    kind,
    input: kind === "intrusion" ? null : input ?? null,
    min,
    max,
    crit: limit(by.get("crit") ?? null),
    alarm,
  };
}

/**
 * Parses `sensors -j` stdout (never stderr). Repairs the known invalid-JSON defects and names
 * each in `repairs`; an exit status of 1 with an empty document means "no sensors".
 *
 * @param stdout lm-sensors' standard output.
 * @param exitCode lm-sensors' exit status, when known.
 * @returns Chips and readings; `error` set when nothing could be read.
 * @example
 * ```ts
 * import { parseSensors } from "./parse_sensors.ts";
 * import assert from "node:assert/strict";
 * const report = parseSensors('{"acpitz-acpi-0":{"Adapter":"ACPI interface","temp1":{"temp1_input": nan}}}');
 * assert.equal(report.chips[0]!.readings[0]!.input, null);
 * assert.equal(report.repairs.length, 1);
 * ```
 */
export function parseSensors(stdout: string, exitCode?: number): SensorsReport {
  const { value, repairs, error } = repairSensorsJson(stdout);
  if (value === undefined) {
    const how = exitCode === undefined ? "" : ` (exit status ${exitCode})`;
    return { chips: [], repairs, noSensors: false, error: `${error}${how}` };
  }
  const chips: Chip[] = Object.entries(value).map(([chip, body]) => {
    const features = typeof body === "object" && body !== null && !Array.isArray(body)
      ? body as Record<string, unknown>
      : {};
    const adapter = typeof features.Adapter === "string" ? features.Adapter : null;
    const readings = Object.entries(features)
      .filter(([label]) => label !== "Adapter")
      .map(([label, raw]) => reading(label, raw));
    return { chip, adapter, readings };
  });
  return { chips, repairs, noSensors: chips.length === 0 };
}
