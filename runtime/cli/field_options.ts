/**
 * Op input from the command line: one flag per schema field (kebab-case), plus `--input` for
 * the whole document. Shared by `deno task op` and `deno task send`.
 *
 * @module
 */
import { z } from "zod";
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { kebab } from "../process/flag_codec.ts";
import { UsageError } from "./usage.ts";

/** Reads `--input`: inline JSON, or `-` for stdin. */
export async function readInput(value: string | undefined): Promise<Record<string, unknown>> {
  if (value === undefined) return {};
  const text = value === "-" ? await new Response(Deno.stdin.readable).text() : value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError("Cannot read --input: not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError("Cannot read --input: not a JSON object");
  }
  return parsed as Record<string, unknown>;
}

/** Converts a flag value to the field's JSON type (integers); other text stays text. */
export function fieldValue(flag: FieldFlag, value: string | boolean): unknown {
  // Leave a non-number as text, so the schema reports it with its path.
  if (flag.type === "integer" && typeof value === "string" && /^-?[0-9]+$/.test(value)) {
    return Number(value);
  }
  if (flag.type === "json" && typeof value === "string") {
    try {
      return JSON.parse(value);
    } catch {
      throw new UsageError(`Cannot read --${flag.flag}: give JSON, e.g. ${flag.example}`);
    }
  }
  return value;
}

/** One input field of an op, as the CLI offers it. */
export interface FieldFlag {
  readonly field: string;
  readonly flag: string;
  /** `json` for a list or an object: the flag's value is JSON. */
  readonly type: "string" | "integer" | "boolean" | "json";
  /** For a `json` field: what its value looks like. */
  readonly example?: string;
  readonly required: boolean;
  readonly description: string;
  /** The values allowed, when the field is one of a list. */
  readonly values?: readonly string[];
}

/**
 * The field flags of an op, generated from its schema.
 *
 * @example
 * ```ts
 * import { fieldFlags } from "./field_options.ts";
 * import { findOp } from "../../ops/mod.ts";
 * import assert from "node:assert/strict";
 * const flags = fieldFlags(findOp("smart")!, { mountBase: "/mnt/usb" });
 * assert.deepEqual(flags.map((f) => f.flag), ["device", "device-type"]);
 * ```
 */
export function fieldFlags(op: AnyOp, settings: OpSettings): FieldFlag[] {
  const schema = z.toJSONSchema(op.schema(settings), { io: "input" }) as {
    properties?: Record<string, { type?: string; description?: string; enum?: string[] }>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([field, property]) => ({
    field,
    flag: kebab(field),
    type: property.type === "integer" || property.type === "boolean"
      ? property.type
      : property.type === "array" || property.type === "object"
      ? "json"
      : "string",
    ...(property.type === "array" || property.type === "object"
      ? { example: property.type === "array" ? `'["a","b"]'` : `'{"name":"eth0"}'` }
      : {}),
    required: schema.required?.includes(field) ?? false,
    description: property.description ??
      (property.enum ? `One of ${property.enum.join(", ")}` : ""),
    ...(property.enum ? { values: property.enum } : {}),
  }));
}

/** parseArgs options for an op's field flags. */
export function fieldOptions(
  flags: readonly FieldFlag[],
): Record<string, { type: "string" | "boolean" }> {
  return Object.fromEntries(
    flags.map((
      f,
    ) => [f.flag, { type: f.type === "boolean" ? "boolean" as const : "string" as const }]),
  );
}

/**
 * Builds an op's input from `--input` and the field flags (flags win).
 *
 * @throws {UsageError} For unreadable `--input`.
 */
export async function inputFrom(
  flags: readonly FieldFlag[],
  values: Readonly<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const input = await readInput(values.input as string | undefined);
  for (const f of flags) {
    const value = values[f.flag];
    if (value !== undefined) input[f.field] = fieldValue(f, value as string | boolean);
  }
  return input;
}
