/**
 * The fenced child's arguments, the launcher → child boundary: the op it serves, the canonical
 * path of each binary that op may run, and every op's settings. `buildChildCommand` (flags.ts)
 * encodes them with {@linkcode encodeChildArgs}; the child's entry (`child/mod.ts`) decodes and
 * validates them with {@linkcode decodeChildArgs}. The `--bin=<name>=<path>` encoding here is
 * the executor's too. Pure; part of the sealed child.
 *
 * @module
 */
import { z } from "zod";
import { type AnyOp, type BinaryName, FENCE_BINARIES, type OpSettings } from "../../ops/types.ts";
import type { ResolvedBinaries } from "./fence.ts";
import { decodeFlags, encodeFlags } from "./flag_codec.ts";
import { settingsArgs, settingsFromFlags, settingsOptions } from "../settings.ts";

/** One `--bin=<name>=<path>`: a fenced binary's name and its canonical path. */
const BinEntry = z.string()
  .transform((entry): [string, string] => {
    const at = entry.indexOf("=");
    return at === -1 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
  })
  .pipe(z.tuple([z.enum(FENCE_BINARIES), z.string().regex(/^\//, "Not an absolute path")]));

/** The fenced binaries, one repeated `--bin=<name>=<path>` each, as paths by name. */
export const BinFlags = z.array(BinEntry).default([]).transform((entries) => {
  const binaries: Partial<Record<BinaryName, string>> = {};
  for (const [name, path] of entries) binaries[name] = path;
  return binaries;
});

/**
 * The flags of {@linkcode BinFlags}: `--bin=<name>=<path>` for each binary, in the record's
 * order.
 *
 * @param binaries Canonical paths by name.
 * @returns The flags.
 * @example
 * ```ts
 * import { binFlags } from "./child_args.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(binFlags({ smartctl: "/usr/sbin/smartctl" }), [
 *   "--bin=smartctl=/usr/sbin/smartctl",
 * ]);
 * ```
 */
export function binFlags(binaries: ResolvedBinaries): string[] {
  return Object.entries(binaries).map(([name, path]) => `--bin=${name}=${path}`);
}

/** The child's own flags; the ops' settings travel beside them (see `settings.ts`). */
export const ChildFlags = z.object({
  /** The op the child serves: one of its entry's registry. */
  op: z.string().min(1),
  /** The op's binaries. */
  bin: BinFlags,
});

/** The child's arguments, decoded. */
export type ChildArgs = z.output<typeof ChildFlags> & {
  /** Every op's settings, validated by the declaring ops. */
  readonly settings: OpSettings;
};

/**
 * Encodes the child's arguments: `--op=<name>`, `--bin=<name>=<path>` for each binary, then
 * `--<setting>=<value>` for every setting.
 *
 * @param args What the child gets.
 * @returns The arguments after the child's entry.
 * @example
 * ```ts
 * import { encodeChildArgs } from "./child_args.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   encodeChildArgs({
 *     op: "smart",
 *     bin: { smartctl: "/usr/sbin/smartctl" },
 *     settings: { mountBase: "/mnt/usb" },
 *   }),
 *   ["--op=smart", "--bin=smartctl=/usr/sbin/smartctl", "--mount-base=/mnt/usb"],
 * );
 * ```
 */
export function encodeChildArgs(args: ChildArgs): string[] {
  return [...encodeFlags(args, ["op"]), ...binFlags(args.bin), ...settingsArgs(args.settings)];
}

/**
 * Decodes and validates the child's arguments. Every setting must be there (the launcher passes
 * them all); each is checked again by its op's schema.
 *
 * @param argv The arguments after the child's entry.
 * @param ops The ops the child may serve, whose settings it reads.
 * @returns The arguments.
 * @throws {TypeError} (`ERR_PARSE_ARGS_*`) for an unknown flag.
 * @throws {RangeError} For a missing or refused value (a `SettingError` for a setting).
 * @example
 * ```ts
 * import { decodeChildArgs } from "./child_args.ts";
 * import { OPS } from "../../ops/mod.ts";
 * import assert from "node:assert/strict";
 * const args = decodeChildArgs(
 *   ["--op=smart", "--bin=smartctl=/usr/sbin/smartctl", "--mount-base=/mnt/usb"],
 *   OPS,
 * );
 * assert.deepEqual(args.bin, { smartctl: "/usr/sbin/smartctl" });
 * assert.throws(() => decodeChildArgs(["--op=smart", "--bin=sh=/bin/sh"], OPS), RangeError);
 * ```
 */
export function decodeChildArgs(argv: readonly string[], ops: readonly AnyOp[]): ChildArgs {
  const { value, flags } = decodeFlags(ChildFlags, argv, {
    kinds: { bin: "multiple" },
    extra: settingsOptions(ops),
  });
  return { ...value, settings: settingsFromFlags(ops, flags, { complete: true }) };
}
