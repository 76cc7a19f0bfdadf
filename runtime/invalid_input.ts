/**
 * The one `invalid_input` error for an op's input that its schema refuses, made the same way
 * wherever input is checked: the receiver (a 422 problem), the launcher (a `RootfenceError`) and
 * the fenced child (its reply).
 *
 * Needs no permissions.
 *
 * @module
 */
import type { z } from "zod";
import type { AnyOp } from "../ops/types.ts";
import { type Issue, issuesOf } from "./process/protocol.ts";

/** What {@linkcode invalidInput} builds: a stable code, one sentence and the zod issue paths. */
export interface InvalidInput {
  readonly code: "invalid_input";
  readonly message: string;
  readonly issues: Issue[];
}

/**
 * Builds the error for input that does not match an op's schema.
 *
 * @param op The op whose schema refused the input.
 * @param error The schema's error.
 * @returns The code, the message and the issue paths.
 * @example
 * ```ts
 * import { z } from "zod";
 * import { invalidInput } from "./invalid_input.ts";
 * import assert from "node:assert/strict";
 * const parsed = z.strictObject({ device: z.string() }).safeParse({});
 * const error = invalidInput({ name: "smart" }, parsed.error!);
 * assert.equal(error.message, 'Cannot run "smart": input does not match its schema');
 * assert.deepEqual(error.issues.map((i) => i.path), [["device"]]);
 * ```
 */
export function invalidInput(op: Pick<AnyOp, "name">, error: z.ZodError): InvalidInput {
  return {
    code: "invalid_input",
    message: `Cannot run "${op.name}": input does not match its schema`,
    issues: issuesOf(error),
  };
}
