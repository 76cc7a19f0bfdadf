/**
 * Small pure helpers the ops share when they read a host command's output.
 *
 * @module
 */
import type { CommandOutput, ParseOutcome } from "./types.ts";

/** How much of stderr an error message carries. */
export const STDERR_TAIL_CHARS = 2048;

/**
 * Returns the last `max` characters of a text, trimmed, for error messages.
 *
 * @example
 * ```ts
 * import { tail } from "./_output.ts";
 * import assert from "node:assert/strict";
 * assert.equal(tail("abcdef\n", 3), "def");
 * ```
 */
export function tail(text: string, max: number = STDERR_TAIL_CHARS): string {
  const trimmed = text.trimEnd();
  return trimmed.length <= max ? trimmed : trimmed.slice(trimmed.length - max);
}

/** Builds a failed outcome with a runtime code or one of the op's own. */
export function fail<C extends string>(code: C, message: string): ParseOutcome<never, C> {
  return { ok: false, code, message };
}

/** The generic failure for a non-zero exit that no rule recognised. */
export function commandFailed(name: string, output: CommandOutput): ParseOutcome<never> {
  const how = output.signal === null ? `exit code ${output.exitCode}` : `signal ${output.signal}`;
  const detail = tail(output.stderr) || tail(output.stdout);
  return fail("command_failed", `Cannot run ${name}: ${how}${detail ? `: ${detail}` : ""}`);
}

/** A first-match table from output text to error code. */
export type Rule<C extends string = string> = readonly [RegExp, C];

/** Finds the first rule whose pattern occurs in the text. */
export function classify<C extends string>(text: string, rules: readonly Rule<C>[]): C | undefined {
  return rules.find(([pattern]) => pattern.test(text))?.[1];
}
