/**
 * The pure builder of a fenced child's command line. The launcher spawns exactly what this
 * returns, and the audit and `--dry-run` print it, so there is one source of truth.
 *
 * @module
 */
import type { AnyOp, BinaryName, OpSettings } from "../../ops/types.ts";
import { encodeChildArgs } from "./child_args.ts";
import { RootfenceError } from "../errors.ts";
import { assertInsideFence, type ResolvedBinaries } from "./fence.ts";

/** How host commands gain root: the runtime is root already, or it goes through `sudo -n`. */
export type RunnerMode = "direct" | "sudo";

/** Everything the builder needs; all paths absolute and canonical. */
export interface ChildCommandOptions {
  /** The Deno binary the child runs on. */
  readonly denoPath: string;
  /** What the child runs: the sealed bundle (`dist/child.js`), or the fence probe. */
  readonly entryPath: string;
  readonly binaries: ResolvedBinaries;
  /** Every op's settings, validated: the child gets them all, as `--<setting>=<value>`. */
  readonly settings: OpSettings;
  readonly runner: RunnerMode;
  /** Used in `sudo` mode. */
  readonly sudoPath: string;
  /** PATH of the child's environment. */
  readonly binPath: string;
}

/** A ready-to-spawn command line. */
export interface ChildCommand {
  /** The program spawned: Deno itself, or sudo. */
  readonly command: string;
  readonly args: readonly string[];
  /** The child's whole environment (spawned with `clearEnv`). */
  readonly env: Readonly<Record<string, string>>;
  /** Just the Deno permission and loading flags, for display and audit. */
  readonly denoFlags: readonly string[];
}

/**
 * The flags every fenced Deno process starts with, before its grants: no prompts, no remote
 * imports, a frozen lockfile and an explicit config (so a `deno.json` in the working directory
 * cannot change anything).
 */
export function loadingFlags(configPath: string, lockPath: string): string[] {
  return [
    "run",
    "--no-prompt",
    "--no-remote",
    "--frozen",
    `--config=${configPath}`,
    `--lock=${lockPath}`,
  ];
}

/**
 * The loading flags of a sealed child: it runs one self-contained file, so it resolves no npm
 * package, reads no config or lockfile and uses no V8 code cache. Nothing in any Deno cache can
 * change the code it runs.
 */
export const SEALED_FLAGS: readonly string[] = [
  "run",
  "--no-prompt",
  "--no-remote",
  "--no-npm",
  "--no-config",
  "--no-lock",
  "--no-code-cache",
];

/**
 * A child's heap, kept small: its live set is one request and one capped output (1 MiB each), yet
 * with V8's defaults a pooled `sensors` child grew from 64 to 94 MiB RSS over 1000 uses and to
 * 127 MiB over 4000. With a 1 MiB young generation and a 64 MiB old-space cap it stayed at 74 and
 * 73 MiB (measured here).
 */
export const CHILD_HEAP_FLAGS = "--v8-flags=--max-semi-space-size=1,--max-old-space-size=64";

/**
 * Where a child's Deno cache points: below a character device, so it can never be created and
 * nothing can be planted there. The sealed child needs no cache; Deno keeps its analysis caches
 * in memory instead.
 */
export const NO_DENO_DIR = "/dev/null/deno";

/**
 * The file grants of an op that declares paths (checked by {@linkcode assertInsideFence}):
 * `--allow-read=` and `--allow-write=` with exactly those paths; none for other ops.
 */
export function pathFlags(op: AnyOp, settings: OpSettings): string[] {
  const paths = op.paths?.(settings);
  if (paths === undefined) return [];
  return [
    ...(paths.read.length > 0 ? [`--allow-read=${paths.read.join(",")}`] : []),
    ...(paths.write.length > 0 ? [`--allow-write=${paths.write.join(",")}`] : []),
  ];
}

/**
 * Builds the command line that runs one op's child under exactly that op's permission set: its
 * binaries and its declared paths (if any) and nothing else, no prompts, no remote imports, and
 * sealed code (see {@linkcode SEALED_FLAGS}).
 *
 * @param op The op whose permission set is granted.
 * @param options Paths and settings.
 * @returns The command, its args, its environment and the Deno flags alone.
 * @throws {RootfenceError} `denied` if the op's set leaves the fence; `binary_not_found` if one
 * of its binaries was not found on the bin path.
 */
export function buildChildCommand(op: AnyOp, options: ChildCommandOptions): ChildCommand {
  assertInsideFence(op, options.settings);
  const bin: Partial<Record<BinaryName, string>> = {};
  for (const name of op.permissions.run) {
    const path = options.binaries[name];
    if (path === undefined) {
      throw new RootfenceError(
        "binary_not_found",
        `Cannot run op "${op.name}": "${name}" is not on the bin path "${options.binPath}"`,
        { binary: name, binPath: options.binPath },
      );
    }
    bin[name] = path;
  }
  const denoFlags = [
    ...SEALED_FLAGS,
    CHILD_HEAP_FLAGS,
    `--allow-run=${Object.values(bin).join(",")}`,
    ...pathFlags(op, options.settings),
  ];
  const childArgs = [
    options.entryPath,
    ...encodeChildArgs({ op: op.name, bin, settings: options.settings }),
  ];
  const env: Record<string, string> = {
    PATH: options.binPath,
    LC_ALL: "C",
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    DENO_DIR: NO_DENO_DIR,
    // One malloc arena: a child's start-up otherwise leaves about 6 MiB freed but held in a
    // second arena, in every pooled child for its whole life (anonymous memory of an idle
    // sensors child, Deno 2.9.6: 32.6 MiB, 26.3 with this; its CPU per run was the same).
    MALLOC_ARENA_MAX: "1",
  };
  const denoArgs = [...denoFlags, ...childArgs];
  if (options.runner === "sudo") {
    return {
      command: options.sudoPath,
      args: ["-n", "--", options.denoPath, ...denoArgs],
      env,
      denoFlags,
    };
  }
  return { command: options.denoPath, args: denoArgs, env, denoFlags };
}
