/**
 * When a SMART report fails a monitoring check (`--fail-on`), by its health verdict. Pure.
 *
 * @module
 */
import type { FailOn } from "../types.ts";
import type { Health, SmartReport } from "./report.ts";

/** The levels of `smart`'s `--fail-on`, the default first. */
export const SMART_FAIL_ON_LEVELS = ["failing", "warning", "never"] as const;

/** One of {@linkcode SMART_FAIL_ON_LEVELS}. */
export type SmartFailOn = typeof SMART_FAIL_ON_LEVELS[number];

/**
 * The verdicts that fail each level. `unknown` fails none: it means the output held no verdict
 * (a disk behind a bridge that hides SMART), and a disk smartctl could not open at all already
 * fails the op itself.
 */
const FAILING_VERDICTS: Record<SmartFailOn, readonly Health[]> = {
  failing: ["failing"],
  warning: ["warning", "failing"],
  never: [],
};

/**
 * `smart`'s check: `failing` (the default) fails a disk whose verdict is `failing`, as smartctl's
 * exit bits 3 and 4 do; `warning` fails `warning` too; `never` passes every report.
 *
 * @example
 * ```ts
 * import { smartFailOn } from "./fail_on.ts";
 * import { parseSmartctl } from "./parse_smartctl.ts";
 * import assert from "node:assert/strict";
 * const failing = parseSmartctl('{"smartctl":{"exit_status":8},"smart_status":{"passed":false}}');
 * assert.equal(smartFailOn.fails(failing, smartFailOn.fallback), 'health is "failing"');
 * assert.equal(smartFailOn.fails(failing, "never"), undefined);
 * ```
 */
export const smartFailOn: FailOn<SmartReport, SmartFailOn> = {
  levels: SMART_FAIL_ON_LEVELS,
  fallback: "failing",
  fails(report, level) {
    return FAILING_VERDICTS[level].includes(report.health)
      ? `health is "${report.health}"`
      : undefined;
  },
};
