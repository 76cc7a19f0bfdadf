/**
 * smartctl's exit status, which is a bitmask (smartctl(8), EXIT STATUS).
 *
 * @module
 */

/** Names of the eight bits, lowest first. */
export const EXIT_BITS = [
  "commandLine",
  "deviceOpen",
  "smartCommandFailed",
  "diskFailing",
  "prefailAttributeBelowThreshold",
  "attributeBelowThresholdInPast",
  "errorLogHasErrors",
  "selfTestLogHasErrors",
] as const;

/** One bit name of {@linkcode EXIT_BITS}. */
export type ExitBit = typeof EXIT_BITS[number];

/** A decoded exit status. */
export interface SmartExitStatus {
  /** The exit status as a number, a bitmask of {@linkcode EXIT_BITS}; 0 when no bit is set. */
  readonly code: number;
  /** The names of the set bits, lowest first. */
  readonly bits: readonly ExitBit[];
}

/**
 * Decodes smartctl's exit status into the names of its set bits.
 *
 * @example
 * ```ts
 * import { decodeExitStatus } from "./exit_status.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeExitStatus(216).bits, [
 *   "diskFailing", "prefailAttributeBelowThreshold", "errorLogHasErrors", "selfTestLogHasErrors",
 * ]);
 * ```
 */
export function decodeExitStatus(code: number): SmartExitStatus {
  return { code, bits: EXIT_BITS.filter((_, bit) => (code & (1 << bit)) !== 0) };
}
