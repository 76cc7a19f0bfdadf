/**
 * Scopes in words, one way for every reader: the audit's "what each key can do as root" and the
 * detail of a `scope_denied` refusal. Values are written as JSON, so a value's quotes, escapes
 * and type (`"8"` or `8`) show exactly what a request must send.
 *
 * Needs no permissions.
 *
 * @module
 */
import type { Alternative, FieldConstraint } from "./types.ts";

function shown(value: unknown): string {
  return value === undefined ? "absent" : JSON.stringify(value);
}

/**
 * One constraint in words.
 *
 * @param constraint A compiled constraint.
 * @returns For example `device is "/dev/sda" or "/dev/sdb"`, or `vmid is 200–299`.
 * @example
 * ```ts
 * import { constraintWords } from "./words.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   constraintWords({ field: "vmid", rule: { kind: "range", min: 200, max: 299 } }),
 *   "vmid is 200–299",
 * );
 * assert.equal(
 *   constraintWords({ field: "start", rule: { kind: "values", values: [false, undefined] } }),
 *   "start is false or absent",
 * );
 * ```
 */
export function constraintWords(constraint: FieldConstraint): string {
  const { field, rule } = constraint;
  if (rule.kind === "values") return `${field} is ${rule.values.map(shown).join(" or ")}`;
  const { min, max } = rule;
  if (min !== undefined && max !== undefined) {
    return min === max ? `${field} is ${min}` : `${field} is ${min}–${max}`;
  }
  return min !== undefined ? `${field} is at least ${min}` : `${field} is at most ${max}`;
}

/**
 * A key's scope of one op in words: alternatives joined by "; or ", constraints by "and".
 *
 * @param alternatives The scope, or `undefined` for an op the key may run unscoped.
 * @returns The words; `any input` for no scope.
 * @example
 * ```ts
 * import { scopeWords } from "./words.ts";
 * import assert from "node:assert/strict";
 * assert.equal(scopeWords(undefined), "any input");
 * assert.equal(
 *   scopeWords([
 *     [{ field: "uuid", rule: { kind: "values", values: ["1298-0BD4"] } }],
 *     [{ field: "uuid", rule: { kind: "values", values: ["0A1B-2C3D"] } }],
 *   ]),
 *   'uuid is "1298-0BD4"; or uuid is "0A1B-2C3D"',
 * );
 * ```
 */
export function scopeWords(alternatives: readonly Alternative[] | undefined): string {
  if (alternatives === undefined) return "any input";
  return alternatives.map((a) => a.map(constraintWords).join(" and ")).join("; or ");
}
