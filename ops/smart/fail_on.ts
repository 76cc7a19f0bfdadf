/**
 * When a SMART result fails a monitoring check (`--fail-on`), by its health verdict: one disk's,
 * or the worst across every disk of an all-disk read. Pure.
 *
 * @module
 */
import type { FailOn } from "../types.ts";
import { isSmartDisks, type SmartResult } from "./disks.ts";
import type { Health } from "./report.ts";

/** The levels of `smart`'s `--fail-on`, the default first. */
export const SMART_FAIL_ON_LEVELS = ["failing", "warning", "never"] as const;

/** One of {@linkcode SMART_FAIL_ON_LEVELS}. */
export type SmartFailOn = typeof SMART_FAIL_ON_LEVELS[number];

/**
 * The verdicts that fail each level. `unknown` fails none: it means the output held no verdict
 * (a disk behind a bridge that hides SMART). A disk smartctl could not open at all fails the op
 * itself when it was asked for alone; in an all-disk read, where the op succeeds around it, it
 * fails every level but `never`.
 */
const FAILING_VERDICTS: Record<SmartFailOn, readonly Health[]> = {
  failing: ["failing"],
  warning: ["warning", "failing"],
  never: [],
};

/**
 * `smart`'s check: `failing` (the default) fails a disk whose verdict is `failing`, as smartctl's
 * exit bits 3 and 4 do; `warning` fails `warning` too; `never` passes every report. An all-disk
 * result fails when any disk does, or when a disk could not be read (except at `never`); a
 * skipped disk (a name rootfence would not pass to smartctl) fails no level. The reason names
 * every disk that failed.
 *
 * @example
 * ```ts
 * import { smartFailOn } from "./fail_on.ts";
 * import { parseSmartctl } from "./parse_smartctl.ts";
 * import assert from "node:assert/strict";
 * const failing = parseSmartctl('{"smartctl":{"exit_status":8},"smart_status":{"passed":false}}');
 * assert.equal(smartFailOn.fails(failing, smartFailOn.fallback), 'health is "failing"');
 * assert.equal(smartFailOn.fails(failing, "never"), undefined);
 * const disk = { device: "/dev/sda", deviceType: "sat", protocol: "ATA" };
 * const all = {
 *   disks: [{ ...disk, status: "read" as const, report: failing }],
 *   counts: { found: 1, read: 1, failed: 0, skipped: 0 },
 * };
 * assert.equal(smartFailOn.fails(all, "failing"), '/dev/sda: health is "failing"');
 * ```
 */
export const smartFailOn: FailOn<SmartResult, SmartFailOn> = {
  levels: SMART_FAIL_ON_LEVELS,
  fallback: "failing",
  fails(result, level) {
    const verdict = (health: Health) =>
      FAILING_VERDICTS[level].includes(health) ? `health is "${health}"` : undefined;
    if (!isSmartDisks(result)) return verdict(result.health);
    const reasons = result.disks.flatMap((disk) => {
      const why = disk.status === "read"
        ? verdict(disk.report.health)
        : disk.status === "failed" && level !== "never"
        ? `not read (${disk.error.code})`
        : undefined;
      return why === undefined ? [] : [`${disk.device}: ${why}`];
    });
    return reasons.length > 0 ? reasons.join("; ") : undefined;
  },
};
