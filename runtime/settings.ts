/**
 * Host settings as the runtime sees them: one opaque record of every op's declared settings
 * ({@linkcode OpSettings}). Each setting is offered as a flag named after it (`mountBase` is
 * `--mount-base`) with a `ROOTFENCE_*` environment variable, and every process boundary
 * (receiver → executor, launcher → child) carries the record the same way, as those flags, so
 * each entry decodes it with {@linkcode settingsFromFlags} and the declaring op's schema. The
 * runtime never reads a setting itself. Pure.
 *
 * @module
 */
import type { z } from "zod";
import type { AnyOp, OpSettings } from "../ops/types.ts";
import { kebab } from "./process/flag_codec.ts";

/** One declared setting, as the command line offers it. */
export interface SettingFlag {
  /** The op that declares it. */
  readonly op: string;
  /** Its key in {@linkcode OpSettings}. */
  readonly name: string;
  /** Its flag, without `--`. */
  readonly flag: string;
  /** The environment variable that sets it when the flag is absent. */
  readonly env: string;
  /** What usage text calls its value, e.g. `dir`. */
  readonly arg: string;
  /** One line of help. */
  readonly help: string;
  /** Its default, as text. */
  readonly fallback: string;
  /** Validates the text given (or `undefined`, for the default). */
  readonly schema: z.ZodType;
}

/**
 * Every setting the ops declare, in registry order.
 *
 * @param ops The ops, e.g. the registry.
 * @returns One entry per setting.
 * @throws {TypeError} When two ops declare the same setting (one flag cannot set two things).
 * @example
 * ```ts
 * import { settingFlags } from "./settings.ts";
 * import { OPS } from "../ops/mod.ts";
 * import assert from "node:assert/strict";
 * const [base] = settingFlags(OPS);
 * assert.equal(base?.flag, "mount-base");
 * assert.equal(base?.env, "ROOTFENCE_MOUNT_BASE");
 * assert.equal(base?.fallback, "/mnt/usb");
 * ```
 */
export function settingFlags(ops: readonly AnyOp[]): SettingFlag[] {
  const flags: SettingFlag[] = [];
  for (const op of ops) {
    for (const [name, declared] of Object.entries(op.settings ?? {})) {
      const other = flags.find((f) => f.name === name);
      if (other !== undefined) {
        throw new TypeError(
          `Cannot declare setting "${name}" of "${op.name}": "${other.op}" declares it too`,
        );
      }
      const parsed = declared.schema.safeParse(undefined);
      flags.push({
        op: op.name,
        name,
        flag: kebab(name),
        env: declared.env ?? `ROOTFENCE_${kebab(name).replaceAll("-", "_").toUpperCase()}`,
        arg: declared.arg,
        help: declared.help,
        fallback: parsed.success ? String(parsed.data) : "",
        schema: declared.schema,
      });
    }
  }
  return flags;
}

/**
 * The `parseArgs` options of the settings' flags.
 *
 * @example
 * ```ts
 * import { settingsOptions } from "./settings.ts";
 * import { OPS } from "../ops/mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(settingsOptions(OPS), { "mount-base": { type: "string" } });
 * ```
 */
export function settingsOptions(ops: readonly AnyOp[]): Record<string, { type: "string" }> {
  return Object.fromEntries(settingFlags(ops).map((f) => [f.flag, { type: "string" as const }]));
}

/** A setting whose value its op's schema refuses. */
export class SettingError extends RangeError {
  /** The setting's flag, without `--`. */
  readonly flag: string;
  /** The value given. */
  readonly value: string;
  /** Why the schema refuses it. */
  readonly problem: string;

  /**
   * @param flag The setting's flag, without `--`.
   * @param value The value given.
   * @param problem Why the schema refuses it.
   */
  constructor(flag: string, value: string, problem: string) {
    super(`Cannot use --${flag} "${value}": ${problem}`);
    this.name = "SettingError";
    this.flag = flag;
    this.value = value;
    this.problem = problem;
  }
}

/** Options of {@linkcode settingsFromFlags}. */
export interface SettingsFromFlagsOptions {
  /**
   * Reads an environment variable, for a setting whose flag is absent.
   * @default {no environment}
   */
  readonly env?: (name: string) => string | undefined;
  /**
   * Require every setting's flag, as on the internal boundaries, whose builders always pass
   * them all: a missing one means the process was not started by them.
   * @default {false}
   */
  readonly complete?: boolean;
}

function validated(
  flags: readonly SettingFlag[],
  text: (flag: SettingFlag) => string | undefined,
): OpSettings {
  const settings: Record<string, unknown> = {};
  for (const flag of flags) {
    const value = text(flag);
    const parsed = flag.schema.safeParse(value);
    if (!parsed.success) {
      throw new SettingError(flag.flag, value ?? "", parsed.error.issues[0]?.message ?? "invalid");
    }
    settings[flag.name] = parsed.data;
  }
  return settings;
}

/**
 * Reads and validates the settings from parsed flags: the flag, else its environment variable,
 * else the default.
 *
 * @param ops The ops whose settings are read.
 * @param values Flag values as `parseArgs` returns them (other flags are ignored).
 * @param options Where else values come from, and whether each flag is required.
 * @returns Every declared setting, validated, in registry order.
 * @throws {SettingError} For a value its op's schema refuses.
 * @throws {RangeError} With `complete`, for a missing flag.
 * @example
 * ```ts
 * import { settingsFromFlags } from "./settings.ts";
 * import { OPS } from "../ops/mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(settingsFromFlags(OPS, {}), { mountBase: "/mnt/usb" });
 * const env = (name: string) => name === "ROOTFENCE_MOUNT_BASE" ? "/srv/usb" : undefined;
 * assert.deepEqual(settingsFromFlags(OPS, {}, { env }), { mountBase: "/srv/usb" });
 * assert.throws(() => settingsFromFlags(OPS, { "mount-base": "/" }), RangeError);
 * ```
 */
export function settingsFromFlags(
  ops: readonly AnyOp[],
  values: Readonly<Record<string, unknown>>,
  options: SettingsFromFlagsOptions = {},
): OpSettings {
  const { env = () => undefined, complete = false } = options;
  return validated(settingFlags(ops), (flag) => {
    const value = values[flag.flag];
    if (typeof value === "string") return value;
    if (complete) throw new RangeError(`Cannot read the settings: --${flag.flag} is missing`);
    return env(flag.env);
  });
}

/**
 * Validates settings given as a record by name, as library callers pass them; every setting
 * left out gets its default.
 *
 * @param ops The ops whose settings these are.
 * @param given Values by setting name; numbers are taken as their text.
 * @returns Every declared setting, validated, in registry order.
 * @throws {SettingError} For a value its op's schema refuses.
 * @throws {RangeError} For a name no op declares.
 * @example
 * ```ts
 * import { resolveSettings } from "./settings.ts";
 * import { OPS } from "../ops/mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveSettings(OPS, { mountBase: "/srv/usb" }), { mountBase: "/srv/usb" });
 * assert.deepEqual(resolveSettings(OPS), { mountBase: "/mnt/usb" });
 * assert.throws(() => resolveSettings(OPS, { mountbase: "/srv/usb" }), RangeError);
 * ```
 */
export function resolveSettings(ops: readonly AnyOp[], given: OpSettings = {}): OpSettings {
  const flags = settingFlags(ops);
  for (const name of Object.keys(given)) {
    if (!flags.some((f) => f.name === name)) {
      throw new RangeError(`Cannot use setting "${name}": no op declares it`);
    }
  }
  return validated(flags, (flag) => {
    const value = given[flag.name];
    return value === undefined ? undefined : String(value);
  });
}

/**
 * The flags that carry settings to another process, one `--<setting>=<value>` each in the
 * record's order: the one encoding every builder uses and {@linkcode settingsFromFlags} reads.
 *
 * @param settings Validated settings.
 * @returns The flags.
 * @throws {TypeError} For a value that is not a string or a finite number.
 * @example
 * ```ts
 * import { settingsArgs } from "./settings.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(settingsArgs({ mountBase: "/mnt/usb" }), ["--mount-base=/mnt/usb"]);
 * ```
 */
export function settingsArgs(settings: OpSettings): string[] {
  return Object.entries(settings).map(([name, value]) => {
    if (typeof value !== "string" && !(typeof value === "number" && Number.isFinite(value))) {
      throw new TypeError(`Cannot pass setting "${name}" on: not text or a number`);
    }
    return `--${kebab(name)}=${value}`;
  });
}
