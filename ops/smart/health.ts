/**
 * The health rules, applied in order; the worst finding wins and every finding is listed.
 *
 * @module
 */
import { magnitude } from "./_json.ts";
import type { SmartExitStatus } from "./exit_status.ts";
import type { AtaAttribute, Health, NvmeHealth, ScsiHealth } from "./report.ts";

/** ATA attributes whose raw count above zero means the surface is degrading. */
export const WATCHED_ATTRIBUTES: readonly number[] = [5, 187, 197, 198];

/** The facts the rules look at. */
export interface HealthFacts {
  /** `null` when unknown (a trimmed capture): no exit bit counts. */
  readonly exitStatus: SmartExitStatus | null;
  readonly smartPassed: boolean | null;
  readonly attributes: readonly AtaAttribute[];
  readonly nvme: NvmeHealth | null;
  readonly scsi: ScsiHealth | null;
}

/** A verdict and why. */
export interface Verdict {
  readonly health: Health;
  readonly reasons: string[];
}

const EXIT_WORDS: Record<number, string> = {
  0: "command line did not parse or device type unknown",
  1: "device open failed",
  2: "a SMART or ATA command failed",
  3: "SMART status says DISK FAILING",
  4: "prefail attributes at or below threshold now",
  5: "attributes at or below threshold in the past",
  6: "device error log has records",
  7: "self-test log has errors",
};

function exitReason(bit: number): string {
  return `exit bit ${bit} set: ${EXIT_WORDS[bit]}`;
}

/**
 * Judges a disk.
 *
 * @example
 * ```ts
 * import { judge } from "./health.ts";
 * import assert from "node:assert/strict";
 * const verdict = judge({
 *   exitStatus: { code: 0, bits: [] }, smartPassed: true, attributes: [], nvme: null, scsi: null,
 * });
 * assert.equal(verdict.health, "ok");
 * ```
 */
export function judge(facts: HealthFacts): Verdict {
  const has = (bit: number) => ((facts.exitStatus?.code ?? 0) & (1 << bit)) !== 0;
  if (has(0) || has(1)) {
    return { health: "unknown", reasons: [0, 1].filter(has).map(exitReason) };
  }
  const failing: string[] = [];
  const warning: string[] = [];
  const notes: string[] = [];
  if (facts.smartPassed === false) failing.push("SMART overall-health self-assessment failed");
  for (const a of facts.attributes) {
    if (a.whenFailed === "now") {
      failing.push(
        `attribute ${a.id} ${a.name} is failing now (value ${a.value} <= thresh ${a.thresh})`,
      );
    } else if (a.whenFailed === "past") {
      warning.push(
        `attribute ${a.id} ${a.name} failed in the past (worst ${a.worst} <= thresh ${a.thresh})`,
      );
    }
    if (WATCHED_ATTRIBUTES.includes(a.id) && (a.raw ?? 0) > 0) {
      warning.push(`attribute ${a.id} ${a.name} raw ${a.raw} > 0`);
    }
  }
  for (const bit of [3, 4]) if (has(bit)) failing.push(exitReason(bit));
  for (const bit of [5, 6, 7]) if (has(bit)) warning.push(exitReason(bit));
  if (has(2)) notes.push(exitReason(2));
  const nvme = facts.nvme;
  if (nvme !== null) {
    if (nvme.criticalWarning !== null && nvme.criticalWarning !== 0) {
      failing.push(`NVMe critical_warning 0x${nvme.criticalWarning.toString(16).padStart(2, "0")}`);
    }
    if (magnitude(nvme.mediaErrors) > 0) warning.push(`NVMe media_errors ${nvme.mediaErrors} > 0`);
    if ((nvme.percentageUsed ?? 0) >= 100) {
      warning.push(`NVMe percentage_used ${nvme.percentageUsed} >= 100`);
    }
  }
  const scsi = facts.scsi;
  if (scsi !== null) {
    if ((scsi.grownDefects ?? 0) > 0) {
      warning.push(`SCSI grown defect list has ${scsi.grownDefects} entries`);
    }
    for (const counter of scsi.errorCounters) {
      if (magnitude(counter.totalUncorrectedErrors) > 0) {
        warning.push(
          `SCSI ${counter.log} log: ${counter.totalUncorrectedErrors} uncorrected errors`,
        );
      }
    }
  }
  const reasons = [...failing, ...warning, ...notes];
  if (failing.length > 0) return { health: "failing", reasons };
  if (warning.length > 0) return { health: "warning", reasons };
  if (facts.smartPassed === true) return { health: "ok", reasons };
  return {
    health: "unknown",
    reasons: [...reasons, "no SMART overall-health status in the output"],
  };
}
