/**
 * Checks a key's scopes against the ops' own input schemas and compiles them: every op scoped
 * must be one the key may trigger, every field one its input has, and every value one the
 * field's own schema accepts, so a scope can never name what no request could send.
 *
 * Needs no permissions.
 *
 * @module
 */
import { z } from "zod";
import { OPS } from "../../ops/mod.ts";
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { RootfenceError } from "../errors.ts";
import type { KeyScopes, ScopeConstraint } from "../keys_file.ts";
import type { Alternative, FieldRule, OpScopes } from "./types.ts";

/** Options of {@linkcode compileScopes}. */
export interface CompileScopesOptions {
  /** The ops' settings, which some fields' schemas depend on (mount-usb's `target`). */
  readonly settings: OpSettings;
  /**
   * The ops a scope may name.
   *
   * @default {OPS, the registry}
   */
  readonly ops?: readonly AnyOp[];
}

/** A key as the keys file writes it, as far as scopes are concerned. */
export interface ScopedKey {
  readonly ops: readonly string[];
  readonly scopes?: KeyScopes | undefined;
}

/** The first thing a schema refuses, in its own words. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "refused";
  return issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`;
}

/** A value as the field's schema parses it; `null` asks for the field to be absent. */
function parsedValue(field: z.ZodType, value: unknown): unknown {
  if (value === null) {
    const absent = field.safeParse(undefined);
    if (!absent.success) throw new RangeError("null (absent) is refused: the field is required");
    if (absent.data !== undefined) {
      throw new RangeError(
        `null (absent) never holds: an absent field takes its default ${
          JSON.stringify(absent.data)
        }; name that value instead`,
      );
    }
    return undefined;
  }
  const parsed = field.safeParse(value);
  if (!parsed.success) {
    throw new RangeError(
      `the field's schema refuses ${JSON.stringify(value)}: ${firstIssue(parsed.error)}`,
    );
  }
  // As JSON, the form the input is compared in (see match.ts).
  return parsed.data === undefined ? undefined : JSON.parse(JSON.stringify(parsed.data));
}

function fieldRule(field: z.ZodType, constraint: ScopeConstraint): FieldRule {
  if (constraint === null || typeof constraint !== "object") {
    return { kind: "values", values: [parsedValue(field, constraint)] };
  }
  if (constraint.oneOf !== undefined) {
    return { kind: "values", values: constraint.oneOf.map((v) => parsedValue(field, v)) };
  }
  // Both bounds must be values the field takes: a range of text, or one reaching outside the
  // field's own bounds, is a mistake to name, not a limit to keep quiet about.
  for (const bound of [constraint.min, constraint.max]) {
    if (bound !== undefined) parsedValue(field, bound);
  }
  return {
    kind: "range",
    ...(constraint.min === undefined ? {} : { min: constraint.min }),
    ...(constraint.max === undefined ? {} : { max: constraint.max }),
  };
}

/** The fields of an op's input, each with its own schema. */
function fieldsOf(
  op: AnyOp,
  settings: OpSettings,
): Readonly<Record<string, z.ZodType>> | undefined {
  const schema = op.schema(settings);
  return schema instanceof z.ZodObject ? schema.shape : undefined;
}

/**
 * Checks and compiles a key's scopes.
 *
 * @param key The key's ops and scopes, as the keys file writes them.
 * @param options The settings the ops' schemas depend on, and the ops.
 * @returns The scopes by op; empty when the key has none.
 * @throws {RootfenceError} `invalid_input`, naming the op and the field, for a scope on an op
 * the key may not trigger, a field the op's input does not have, a value the field's own schema
 * refuses (also as a range bound), or `null` on a required field.
 * @example
 * ```ts
 * import { compileScopes } from "./compile.ts";
 * import assert from "node:assert/strict";
 * const scopes = compileScopes(
 *   { ops: ["smart"], scopes: { smart: [{ device: { oneOf: ["/dev/sda", "/dev/sdb"] } }] } },
 *   { settings: {} },
 * );
 * assert.deepEqual(scopes.get("smart"), [
 *   [{ field: "device", rule: { kind: "values", values: ["/dev/sda", "/dev/sdb"] } }],
 * ]);
 * assert.throws(
 *   () => compileScopes({ ops: ["smart"], scopes: { smart: [{ disk: "/dev/sda" }] } }, {
 *     settings: {},
 *   }),
 *   /scope of "smart", field "disk": the op's input has no such field/,
 * );
 * ```
 */
export function compileScopes(key: ScopedKey, options: CompileScopesOptions): OpScopes {
  const { settings, ops = OPS } = options;
  const compiled = new Map<string, readonly Alternative[]>();
  for (const [name, alternatives] of Object.entries(key.scopes ?? {})) {
    const refuse = (why: string, field?: string) =>
      new RootfenceError(
        "invalid_input",
        `scope of "${name}"${field === undefined ? "" : `, field "${field}"`}: ${why}`,
      );
    const op = ops.find((o) => o.name === name);
    if (op === undefined) throw refuse("no such op");
    if (!key.ops.includes("*") && !key.ops.includes(name)) {
      throw refuse(`the key may not trigger it (its ops are ${key.ops.join(", ")})`);
    }
    const fields = fieldsOf(op, settings);
    if (fields === undefined) throw refuse("its input is not an object of fields");
    compiled.set(
      name,
      alternatives.map((alternative) =>
        Object.entries(alternative).map(([field, constraint]) => {
          const schema = Object.hasOwn(fields, field) ? fields[field] : undefined;
          if (schema === undefined) throw refuse("the op's input has no such field", field);
          try {
            return { field, rule: fieldRule(schema, constraint) };
          } catch (error) {
            if (!(error instanceof RangeError)) throw error;
            throw refuse(error.message, field);
          }
        })
      ),
    );
  }
  return compiled;
}
