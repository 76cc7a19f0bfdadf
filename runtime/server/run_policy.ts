/**
 * What an op's kind decides about its jobs, in one place for the executor and its tests: only a
 * read-only op's runs may be shared, and only a mutating op's journal rows are fsynced at every
 * step (an unknown op counts as mutating: the safe side of both).
 *
 * @module
 */
import { findOp } from "../../ops/mod.ts";
import { RootfenceError } from "../errors.ts";
import type { Job, Journal } from "./journal.ts";

/**
 * Whether identical jobs of `op` may share one run (read coalescing).
 *
 * @example
 * ```ts
 * import { sharesRuns } from "./run_policy.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sharesRuns("sensors"), true);
 * assert.equal(sharesRuns("create-golden-lxc"), false);
 * assert.equal(sharesRuns("no-such-op"), false);
 * ```
 */
export function sharesRuns(op: string): boolean {
  return findOp(op)?.mutates === false;
}

/**
 * Whether `op`'s journal rows are fsynced before each write returns.
 *
 * @example
 * ```ts
 * import { syncsRows } from "./run_policy.ts";
 * import assert from "node:assert/strict";
 * assert.equal(syncsRows("mount-usb"), true);
 * assert.equal(syncsRows("smart"), false);
 * assert.equal(syncsRows("no-such-op"), true);
 * ```
 */
export function syncsRows(op: string): boolean {
  return findOp(op)?.mutates ?? true;
}

/**
 * What the executor does when a job's child is about to get its request: puts the child's
 * process group and deadline on record first, so that after a crash the next executor keeps the
 * job's resources taken and still enforces the deadline. A mutating op's host command never
 * starts unrecorded: when the journal refuses the write, the job fails `journal_unavailable` and
 * nothing runs. A read runs anyway (a second read of its disk after a crash costs only that).
 *
 * @param journal The journal.
 * @param job The job that starts.
 * @param boot The machine's boot time, journaled beside the process group.
 * @param log Where a refused write is logged.
 * @returns The launcher's `onStart` for this job.
 */
export function recordStart(
  journal: Pick<Journal, "markProcess">,
  job: Pick<Job, "id" | "op">,
  boot: number,
  log: (line: Record<string, unknown>) => void,
): (pgid: number, deadline: number) => void {
  return (pgid, deadline) => {
    try {
      journal.markProcess(job.id, pgid, deadline, boot);
    } catch (error) {
      log({
        t: new Date().toISOString(),
        kind: "journal_error",
        jobId: job.id,
        message: String(error),
      });
      if (!syncsRows(job.op)) return;
      throw new RootfenceError(
        "journal_unavailable",
        `Cannot start "${job.op}": its process group could not be put on record first: ${error}`,
      );
    }
  };
}
