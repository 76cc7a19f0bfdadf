/**
 * Judges an op's parsed input by a key's scope: allowed when every constraint of one
 * alternative holds. It sees the input as the op's schema returned it, defaults applied, so an
 * omitted field is judged by the value the op will use (absent, for `smart` without a device:
 * every disk).
 *
 * Needs no permissions.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import type { Alternative, FieldConstraint, FieldRule } from "./types.ts";

/** The input's own field, never one inherited; `undefined` when absent. */
function fieldOf(input: unknown, field: string): unknown {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined;
  return Object.hasOwn(input, field) ? (input as Record<string, unknown>)[field] : undefined;
}

/** The value as JSON carries it (so `-0` is `0`), to compare with the scope's parsed values. */
function asJson(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function holds(rule: FieldRule, value: unknown): boolean {
  if (rule.kind === "range") {
    return typeof value === "number" && (rule.min === undefined || value >= rule.min) &&
      (rule.max === undefined || value <= rule.max);
  }
  const seen = asJson(value);
  return rule.values.some((allowed) => isDeepStrictEqual(allowed, seen));
}

/**
 * Judges an input by a scope's alternatives.
 *
 * @param alternatives The key's scope of the op (see `compile.ts`).
 * @param input The input, parsed by the op's schema.
 * @returns `undefined` when one alternative holds; otherwise, per alternative in order, the
 * first of its constraints that failed.
 * @example
 * ```ts
 * import { scopeFailures } from "./match.ts";
 * import assert from "node:assert/strict";
 * const scope = [[{ field: "vmid", rule: { kind: "range" as const, min: 200, max: 299 } }]];
 * assert.equal(scopeFailures(scope, { vmid: 250 }), undefined);
 * assert.deepEqual(scopeFailures(scope, { vmid: 300 }), [scope[0]![0]]);
 * ```
 */
export function scopeFailures(
  alternatives: readonly Alternative[],
  input: unknown,
): FieldConstraint[] | undefined {
  const failed: FieldConstraint[] = [];
  for (const alternative of alternatives) {
    const broken = alternative.find((c) => !holds(c.rule, fieldOf(input, c.field)));
    if (broken === undefined) return undefined;
    failed.push(broken);
  }
  return failed;
}
