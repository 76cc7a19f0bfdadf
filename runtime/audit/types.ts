/**
 * The audit's result shapes.
 *
 * @module
 */

/** One named check. */
export interface CheckResult {
  /** Stable id, e.g. `declared-fence`. */
  readonly id: string;
  readonly name: string;
  readonly status: "pass" | "fail" | "skip";
  /** Every problem (when failing) or what was verified (when passing), in plain words. */
  readonly messages: readonly string[];
  /** Machine-readable evidence: flags, probe attempts, graph members. */
  readonly evidence?: unknown;
}

/** The whole audit. */
export interface AuditReport {
  readonly ok: boolean;
  readonly generatedAt: string;
  readonly checks: readonly CheckResult[];
  /**
   * Binaries replaced by stand-ins for this run, with their paths: a green report with any
   * proves the fence, not the host.
   */
  readonly standIns: Readonly<Record<string, string>>;
}

/** Builds a check result from its problems: none means pass. */
export function result(
  id: string,
  name: string,
  problems: readonly string[],
  verified: readonly string[],
  evidence?: unknown,
): CheckResult {
  return {
    id,
    name,
    status: problems.length === 0 ? "pass" : "fail",
    messages: problems.length === 0 ? verified : problems,
    ...(evidence === undefined ? {} : { evidence }),
  };
}
