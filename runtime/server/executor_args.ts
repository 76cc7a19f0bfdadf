/**
 * The executor's arguments, the starter → executor boundary: its socket and state, the keys
 * file, how it runs children and with which limits, the resolved Deno, `kill` and fenced
 * binaries, what the starter found unsafe about the ops' write bases, and every op's settings.
 * `buildExecutorCommand` (receiver_commands.ts) encodes them with {@linkcode encodeExecutorArgs};
 * the executor decodes and validates them with {@linkcode decodeExecutorArgs}. Everything the
 * executor needs arrives this way: it reads no environment and resolves nothing on disk. Pure.
 *
 * @module
 */
import { z } from "zod";
import { OPS } from "../../ops/mod.ts";
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { BinFlags, binFlags } from "../process/child_args.ts";
import { decodeFlags, encodeFlags, jsonFlag, wholeFlag } from "../process/flag_codec.ts";
import { settingsArgs, settingsFromFlags, settingsOptions } from "../settings.ts";

const AbsolutePath = z.string().regex(/^\/[^\0]*$/, "Not an absolute path");

/** What is unsafe about each write base, by path. */
const BaseProblems = z.record(z.string(), z.array(z.string()).readonly()).readonly();

/** The executor's own flags; the ops' settings travel beside them (see `settings.ts`). */
export const ExecutorFlags = z.object({
  /** Its Unix socket, which the listener connects to. */
  socket: AbsolutePath,
  /** The group allowed to connect to the socket (the listener's), when it is another user. */
  socketGroup: wholeFlag().optional(),
  stateDir: AbsolutePath,
  keysFile: AbsolutePath,
  /** PATH of the children's environment. */
  binPath: z.string(),
  runner: z.enum(["direct", "sudo"]),
  sudoPath: z.string(),
  maxRunning: wholeFlag(1),
  maxQueued: wholeFlag(),
  /** What running jobs get on shutdown. */
  graceMs: wholeFlag(),
  poolSize: wholeFlag(),
  poolUses: wholeFlag(1),
  poolIdleMs: wholeFlag(1),
  /** How old `GET /metrics`' host reads may be, in ms. */
  metricsSmartMaxAgeMs: wholeFlag(),
  metricsSensorsMaxAgeMs: wholeFlag(),
  /** Finished jobs are kept this long. */
  retentionMs: wholeFlag(1),
  /** At most this many finished jobs are kept. */
  retentionJobs: wholeFlag(1),
  /** The Deno children run on. */
  denoPath: z.string(),
  /** The `kill` binary that ends a child's process group. */
  killPath: z.string(),
  /** The fenced binaries, resolved by the starter (the executor may not read the bin path). */
  bin: BinFlags,
  /**
   * What is wrong with each write base, by path, as the starter found it (the executor may not
   * read the bases); only bases with problems travel, as one JSON object.
   */
  baseProblems: jsonFlag(BaseProblems).default({}),
  /** End when stdin ends: the starter holds it open (systemd does not). */
  stopWithStdin: z.boolean().default(false),
});

/** The executor's arguments, decoded. */
export type ExecutorArgs = z.output<typeof ExecutorFlags> & {
  /** Every op's settings, validated by the declaring ops. */
  readonly settings: OpSettings;
};

/** `--base-problems=<JSON>` for the bases that have problems; nothing when none has. */
function baseProblemsFlags(problems: ExecutorArgs["baseProblems"]): string[] {
  const unsafe = Object.entries(problems).filter(([, list]) => list.length > 0);
  return unsafe.length === 0
    ? []
    : [`--base-problems=${JSON.stringify(Object.fromEntries(unsafe))}`];
}

/**
 * Encodes the executor's arguments, in their command-line order.
 *
 * @param args What the executor gets.
 * @returns The arguments after the executor's entry.
 * @example
 * ```ts
 * import { encodeExecutorArgs } from "./executor_args.ts";
 * import assert from "node:assert/strict";
 * const argv = encodeExecutorArgs({
 *   socket: "/var/lib/rf/executor.sock", stateDir: "/var/lib/rf",
 *   keysFile: "/var/lib/rf/keys.json", binPath: "/usr/sbin:/usr/bin",
 *   settings: { mountBase: "/mnt/usb" }, runner: "direct", sudoPath: "/usr/bin/sudo",
 *   maxRunning: 4, maxQueued: 64, graceMs: 30000, poolSize: 1, poolUses: 100,
 *   poolIdleMs: 300000, metricsSmartMaxAgeMs: 300000, metricsSensorsMaxAgeMs: 30000,
 *   retentionMs: 86400000, retentionJobs: 1000,
 *   denoPath: "/usr/bin/deno", killPath: "/usr/bin/kill", bin: {}, baseProblems: {},
 *   stopWithStdin: false,
 * });
 * assert.deepEqual(argv.slice(0, 5), [
 *   "--socket=/var/lib/rf/executor.sock", "--state-dir=/var/lib/rf",
 *   "--keys-file=/var/lib/rf/keys.json", "--bin-path=/usr/sbin:/usr/bin",
 *   "--mount-base=/mnt/usb",
 * ]);
 * ```
 */
export function encodeExecutorArgs(args: ExecutorArgs): string[] {
  return [
    ...encodeFlags(args, ["socket", "socketGroup", "stateDir", "keysFile", "binPath"]),
    ...settingsArgs(args.settings),
    ...encodeFlags(args, [
      "runner",
      "sudoPath",
      "maxRunning",
      "maxQueued",
      "graceMs",
      "poolSize",
      "poolUses",
      "poolIdleMs",
      "metricsSmartMaxAgeMs",
      "metricsSensorsMaxAgeMs",
      "retentionMs",
      "retentionJobs",
      "denoPath",
      "killPath",
    ]),
    ...binFlags(args.bin),
    ...baseProblemsFlags(args.baseProblems),
    ...encodeFlags(args, ["stopWithStdin"]),
  ];
}

/**
 * Decodes and validates the executor's arguments. Every setting must be there (the starter
 * passes them all); each is checked by its op's schema.
 *
 * @param argv The arguments after the executor's entry.
 * @param ops The ops whose settings are read.
 * @returns The arguments.
 * @throws {TypeError} (`ERR_PARSE_ARGS_*`) for an unknown flag.
 * @throws {RangeError} For a missing or refused value (a `SettingError` for a setting).
 */
export function decodeExecutorArgs(
  argv: readonly string[],
  ops: readonly AnyOp[] = OPS,
): ExecutorArgs {
  const { value, flags } = decodeFlags(ExecutorFlags, argv, {
    kinds: { bin: "multiple", stopWithStdin: "boolean" },
    extra: settingsOptions(ops),
  });
  return { ...value, settings: settingsFromFlags(ops, flags, { complete: true }) };
}
