/**
 * How values cross a process boundary as arguments. Each boundary (launcher → child, starter →
 * executor, starter → listener) has one module with one zod object whose fields travel as flags
 * named after them in kebab case (`stateDir` is `--state-dir=<value>`): its builder encodes a
 * value with {@linkcode encodeFlags}, in the order its command line has always had, and its
 * entry decodes and validates the same schema with {@linkcode decodeFlags}. So there is one
 * option table per boundary, the schema's fields, and the entry gets a typed value with no
 * casts. Pure; part of the sealed child and listener, so it imports zod and the parser only.
 *
 * @module
 */
import { z } from "zod";
import { parseArgs, type ParseArgsOptionsConfig } from "../args.ts";

/**
 * The flag of a field or setting name: `rootfsGb` → `rootfs-gb`.
 *
 * @param name A camelCase name.
 * @returns The name in kebab case.
 * @example
 * ```ts
 * import { kebab } from "./flag_codec.ts";
 * import assert from "node:assert/strict";
 * assert.equal(kebab("mountBase"), "mount-base");
 * ```
 */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The fields of `T` that travel as one flag each: text, numbers and booleans. */
export type ScalarField<T> =
  & {
    [K in keyof T]-?: T[K] extends string | number | boolean | undefined ? K : never;
  }[keyof T]
  & string;

/**
 * Encodes fields as flags, in the order given: text and numbers as `--<flag>=<value>`, `true` as
 * a bare `--<flag>`; `false` and `undefined` are left out.
 *
 * @param value The boundary's value.
 * @param fields Which of its fields, in command-line order.
 * @returns The flags.
 * @example
 * ```ts
 * import { encodeFlags } from "./flag_codec.ts";
 * import assert from "node:assert/strict";
 * const value = { stateDir: "/var/lib/rf", graceMs: 30000, quiet: false, stopWithStdin: true };
 * assert.deepEqual(
 *   encodeFlags(value, ["stateDir", "graceMs", "quiet", "stopWithStdin"]),
 *   ["--state-dir=/var/lib/rf", "--grace-ms=30000", "--stop-with-stdin"],
 * );
 * ```
 */
export function encodeFlags<T extends object>(
  value: T,
  fields: readonly ScalarField<T>[],
): string[] {
  const flags: string[] = [];
  for (const field of fields) {
    const given: unknown = value[field];
    if (given === true) flags.push(`--${kebab(field)}`);
    else if (typeof given === "string" || typeof given === "number") {
      flags.push(`--${kebab(field)}=${given}`);
    }
  }
  return flags;
}

/** How a field's flag is given, when not once as `--<flag>=<text>`. */
export type FlagKind = "boolean" | "multiple";

/** Options of {@linkcode decodeFlags}, for a schema whose value is `T`. */
export interface DecodeFlagsOptions<T> {
  /**
   * Fields whose flag is bare (`boolean`: `true` when given) or repeats (`multiple`: a list).
   * @default {every flag once, with a value}
   */
  readonly kinds?: Readonly<Partial<Record<keyof T & string, FlagKind>>>;
  /**
   * More flags parsed alongside the schema's (the ops' settings), handed back in
   * {@linkcode DecodedFlags.flags} for their own decoder.
   * @default {none}
   */
  readonly extra?: ParseArgsOptionsConfig;
}

/** What {@linkcode decodeFlags} returns. */
export interface DecodedFlags<T> {
  /** The schema's fields, validated. */
  readonly value: T;
  /** Every flag as parsed, by flag name, `extra` included. */
  readonly flags: Readonly<Record<string, unknown>>;
}

/**
 * Decodes a command line into a schema's value: every field's flag is parsed (and nothing else
 * is accepted), then the schema validates and converts the text.
 *
 * @param schema The boundary's schema; its fields are the flags.
 * @param argv The arguments after the entry.
 * @param options Bare and repeated flags, and extra flags.
 * @returns The value and the parsed flags.
 * @throws {TypeError} (`ERR_PARSE_ARGS_*`) for an unknown flag or a missing value.
 * @throws {RangeError} For a value the schema refuses, naming its flag.
 * @example
 * ```ts
 * import { z } from "zod";
 * import { decodeFlags, wholeFlag } from "./flag_codec.ts";
 * import assert from "node:assert/strict";
 * const Flags = z.object({ stateDir: z.string(), graceMs: wholeFlag() });
 * const { value } = decodeFlags(Flags, ["--state-dir=/var/lib/rf", "--grace-ms=30000"]);
 * assert.deepEqual(value, { stateDir: "/var/lib/rf", graceMs: 30000 });
 * assert.throws(() => decodeFlags(Flags, ["--state-dir=/x", "--grace-ms=soon"]), RangeError);
 * ```
 */
export function decodeFlags<S extends z.ZodObject>(
  schema: S,
  argv: readonly string[],
  options: DecodeFlagsOptions<z.output<S>> = {},
): DecodedFlags<z.output<S>> {
  const { extra = {} } = options;
  const kinds: Readonly<Record<string, FlagKind | undefined>> = options.kinds ?? {};
  const fields = Object.keys(schema.shape);
  const own: ParseArgsOptionsConfig = {};
  for (const field of fields) {
    const kind = kinds[field];
    own[kebab(field)] = kind === "boolean"
      ? { type: "boolean" }
      : { type: "string", multiple: kind === "multiple" };
  }
  const { values } = parseArgs({ args: [...argv], options: { ...own, ...extra }, strict: true });
  const given: Record<string, unknown> = {};
  for (const field of fields) {
    const value = values[kebab(field)];
    if (value !== undefined) given[field] = value;
  }
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const flag = kebab(String(issue?.path[0] ?? "?"));
    throw new RangeError(`Cannot read --${flag}: ${issue?.message ?? "invalid"}`);
  }
  return { value: parsed.data, flags: values };
}

/**
 * A whole number given as decimal digits, within `min`..`max`.
 *
 * @param min The least value.
 * @param max The greatest value.
 * @returns The flag's schema: text in, a number out.
 * @example
 * ```ts
 * import { wholeFlag } from "./flag_codec.ts";
 * import assert from "node:assert/strict";
 * assert.equal(wholeFlag(0, 65535).parse("8787"), 8787);
 * assert.ok(!wholeFlag(0, 65535).safeParse("").success);
 * ```
 */
export function wholeFlag(min = 0, max = Number.MAX_SAFE_INTEGER): z.ZodType<number, string> {
  return z.string().regex(/^[0-9]{1,16}$/, "Not a whole number").transform(Number)
    .pipe(z.int().min(min).max(max));
}

/**
 * A value given as JSON text, validated by `schema`.
 *
 * @param schema What the JSON must hold.
 * @returns The flag's schema: text in, the value out.
 * @example
 * ```ts
 * import { z } from "zod";
 * import { jsonFlag } from "./flag_codec.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(jsonFlag(z.array(z.string())).parse('["a"]'), ["a"]);
 * assert.ok(!jsonFlag(z.array(z.string())).safeParse("[").success);
 * ```
 */
export function jsonFlag<T extends z.ZodType>(schema: T): z.ZodType<z.output<T>, string> {
  return z.string().transform((text, context): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      context.issues.push({ code: "custom", message: "Not JSON", input: text });
      return z.NEVER;
    }
  }).pipe(schema);
}
