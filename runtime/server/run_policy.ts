/**
 * What an op's kind decides about its jobs, in one place for the executor and its tests: only a
 * read-only op's runs may be shared, and only a mutating op's journal rows are fsynced at every
 * step (an unknown op counts as mutating: the safe side of both).
 *
 * @module
 */
import { findOp } from "../../ops/mod.ts";

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
