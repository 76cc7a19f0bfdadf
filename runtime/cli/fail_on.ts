/**
 * `--fail-on <level>`: the one place a CLI turns an op's {@linkcode FailOn} check into its exit
 * status, shared by `deno task op` and `deno task report`. The runtime never reads a result
 * itself: the op's check does.
 *
 * Needs no permissions.
 *
 * @module
 */
import type { FailOn } from "../../ops/types.ts";
import { UsageError } from "./usage.ts";

/** What {@linkcode failOnExit} needs of an op. */
export interface FailOnOp<R> {
  /** The op's name, for messages. */
  readonly name: string;
  /** The op's check, if it has one. */
  readonly failOn?: FailOn<R>;
}

/** Options of {@linkcode failOnExit}. */
export interface FailOnExitOptions {
  /**
   * Where the reason goes when a result fails the check.
   * @default {console.error}
   */
  readonly report?: (line: string) => void;
}

/**
 * Reads `--fail-on` for an op, before anything runs, and returns what turns a successful result
 * into the exit status: 0 when it passes, 1 (with the reason reported) when it fails.
 *
 * @param op The op (or anything with its `name` and `failOn`).
 * @param given The `--fail-on` value, or `undefined` for the op's default.
 * @param options Where a failure's reason goes.
 * @returns The exit status of a successful result; always 0 for an op without a check.
 * @throws {UsageError} For `--fail-on` on an op without a check, or a level it does not declare.
 * @example
 * ```ts
 * import { failOnExit } from "./fail_on.ts";
 * import { UsageError } from "./usage.ts";
 * import assert from "node:assert/strict";
 * const failOn = {
 *   levels: ["bad", "never"],
 *   fallback: "bad",
 *   fails: (n: number, level: string) => level === "bad" && n > 0 ? `${n} is bad` : undefined,
 * };
 * const lines: string[] = [];
 * const exit = failOnExit({ name: "count", failOn }, undefined, { report: (l) => lines.push(l) });
 * assert.equal(exit(0), 0);
 * assert.equal(exit(3), 1);
 * assert.deepEqual(lines, ["Check failed: 3 is bad (--fail-on bad)"]);
 * assert.equal(failOnExit({ name: "count", failOn }, "never")(3), 0);
 * assert.throws(() => failOnExit({ name: "count", failOn }, "worse"), UsageError);
 * assert.throws(() => failOnExit({ name: "plain" }, "bad"), UsageError);
 * ```
 */
export function failOnExit<R>(
  op: FailOnOp<R>,
  given: string | undefined,
  options: FailOnExitOptions = {},
): (result: R) => 0 | 1 {
  const { report = console.error } = options;
  const check = op.failOn;
  if (check === undefined) {
    if (given !== undefined) {
      throw new UsageError(`Cannot use --fail-on for "${op.name}": it has no check`);
    }
    return () => 0;
  }
  const level = given ?? check.fallback;
  if (!check.levels.includes(level)) {
    const choices = `${check.levels.slice(0, -1).join(", ")} or ${check.levels.at(-1)}`;
    throw new UsageError(`Cannot use --fail-on "${level}": use ${choices}`);
  }
  return (result) => {
    const why = check.fails(result, level);
    if (why === undefined) return 0;
    report(`Check failed: ${why} (--fail-on ${level})`);
    return 1;
  };
}
