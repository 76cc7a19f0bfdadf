/**
 * Scopes on inputs, per key: a key may be limited to some inputs of an op, not just to the op.
 * The keys file writes them as data (`KeyScopes` in `runtime/keys_file.ts`); `compile.ts` checks
 * them at load against each op's own input schema and turns them into the shapes below;
 * `match.ts` judges a parsed input by them before a job is journaled; `words.ts` says them in
 * words for the audit and for a refusal.
 *
 * Needs no permissions.
 *
 * @module
 */

/** What one input field must be. */
export type FieldRule =
  /**
   * One of these values, each already parsed by the field's own schema and compared as JSON;
   * `undefined` stands for an absent field.
   */
  | { readonly kind: "values"; readonly values: readonly unknown[] }
  /** A number from `min` to `max`, both included; a bound left out is open. */
  | { readonly kind: "range"; readonly min?: number; readonly max?: number };

/** One constraint of an alternative: a field and what it must be. */
export interface FieldConstraint {
  /** The input field, a key of the op's input object. */
  readonly field: string;
  readonly rule: FieldRule;
}

/** Constraints that must all hold; an empty one never exists (it would allow anything). */
export type Alternative = readonly FieldConstraint[];

/**
 * A key's scopes by op name: an input is allowed when one alternative holds. An op with no entry
 * takes any input its schema accepts.
 */
export type OpScopes = ReadonlyMap<string, readonly Alternative[]>;
