/**
 * The plugin contract every op declares as plain data: what it accepts, which binaries it may run,
 * how it builds the host command line and how it reads the result. Nothing here does I/O.
 *
 * @module
 */
import type { z } from "zod";

/** The only binaries any op may ever run: the global fence. */
export const FENCE_BINARIES = ["pct", "mount", "findmnt", "mkdir", "smartctl", "sensors"] as const;

/** A binary inside the global fence, named as the op declares it (resolved to a path at start-up). */
export type BinaryName = typeof FENCE_BINARIES[number];

/**
 * What an op's child process may do. Lists only: "allow all" cannot be written, and every other
 * kind of grant (net, read, write, env, sys, ffi, import) is absent by construction.
 */
export interface PermissionSet {
  /** Binaries the child may spawn. */
  readonly run: readonly BinaryName[];
}

/**
 * Paths an op's child may read and write, computed from the settings. Deno checks these grants
 * against the path as written, never against a symlink's target, so the launcher accepts only
 * absolute, normalised paths other than `/`, every write path inside a read path and inside the
 * mount base, whose safety it checks (see `runtime/mount_base.ts`).
 */
export interface PathGrants {
  readonly read: readonly string[];
  readonly write: readonly string[];
}

/** One host command line: a fenced binary and its argv (never a shell string). */
export interface HostCommand {
  readonly binary: BinaryName;
  readonly args: readonly string[];
}

/** Host settings an op's schema and argv builder may depend on. */
export interface OpSettings {
  /** Directory that every mount target must lie strictly inside. */
  readonly mountBase: string;
}

/** What running a host command produced, as the child saw it. */
export interface CommandOutput {
  readonly exitCode: number;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
}

/** What an op sees of a path through {@linkcode OpHost.lstat} (symlinks are not followed). */
export interface PathInfo {
  readonly kind: "directory" | "symlink" | "file" | "other";
  /** Owner's user id. */
  readonly uid: number;
  /** Permission bits, including setuid, setgid and sticky (`0o7777` of st_mode). */
  readonly mode: number;
}

/**
 * The host, as an op that takes over its own execution sees it. The fenced child implements it
 * with exactly the child's grants, so an op can do no more through it than its declared
 * permissions and paths allow. Every method may throw when the host refuses.
 */
export interface OpHost {
  /** Runs a host command of the op's own (`permissions.run`) and waits for it. */
  run(command: HostCommand): Promise<CommandOutput>;
  /** Facts about a path, without following a final symlink; `undefined` when it is absent. */
  lstat(path: string): Promise<PathInfo | undefined>;
  /** The path with every symlink resolved. */
  realPath(path: string): Promise<string>;
  /** Creates one directory (parents must exist) with exactly this mode, umask ignored. */
  mkdir(path: string, mode: number): Promise<void>;
  /** Removes one empty directory; never a file, never recursively. */
  rmdir(path: string): Promise<void>;
}

/** Stable error codes that callers may handle. */
export const ERROR_CODES = [
  "invalid_input",
  "binary_not_found",
  "denied",
  "timeout",
  "output_too_large",
  "command_failed",
  "child_failed",
  "ct_exists",
  "storage_not_found",
  "template_not_found",
  "lock_timeout",
  "feature_root_only",
  "no_space",
  "uuid_not_found",
  "already_mounted",
  "target_busy",
  "unknown_fs",
  "wrong_fs_type",
  "mount_base_unsafe",
  "target_unsafe",
  "mounted_read_only",
  "mount_unverified",
  "device_open_failed",
  "unknown_device_type",
  "interrupted",
] as const;

/** One of {@linkcode ERROR_CODES}. */
export type ErrorCode = typeof ERROR_CODES[number];

/** The result of reading a host command's output: a value, or a classified failure. */
export type ParseOutcome<R> =
  | { readonly ok: true; readonly value: R }
  | {
    readonly ok: false;
    readonly code: ErrorCode;
    readonly message: string;
  };

/**
 * An op: a plugin module's whole declaration.
 *
 * Methods use method syntax on purpose: it lets a registry hold ops of different input types as
 * `OpDefinition<unknown, unknown>` while each op stays fully typed.
 */
export interface OpDefinition<I, R> {
  /** Name used on the CLI, in URLs and in the child's argv. */
  readonly name: string;
  /** One line for help output. */
  readonly summary: string;
  /** The binaries this op may run; must be inside {@linkcode FENCE_BINARIES}. */
  readonly permissions: PermissionSet;
  /** Default time before the whole process tree is killed, in milliseconds. */
  readonly timeoutMs: number;
  /** Whether the op changes the host (never retried, never pooled for reuse). */
  readonly mutates: boolean;
  /** A valid input, for documentation and for the audit's hostile-argument check. */
  readonly example: I;
  /** Strict input schema (unknown keys rejected); settings fix host-dependent bounds. */
  schema(settings: OpSettings): z.ZodType<I>;
  /** Builds the host command from validated input. Pure. */
  argv(input: I, settings: OpSettings): HostCommand;
  /** Reads the command's output into a result or a classified error. Pure. */
  parse(output: CommandOutput, input: I): ParseOutcome<R>;
  /**
   * Paths the child may read and write, besides running its binaries. Most ops have none: they
   * get no file access at all.
   */
  paths?(settings: OpSettings): PathGrants;
  /**
   * Takes over execution when one host command is not enough: the child calls this instead of
   * running {@linkcode OpDefinition.argv} and {@linkcode OpDefinition.parse} itself. All I/O
   * goes through `host`, so the op stays pure code; its main command must still be `argv()`,
   * which `--dry-run`, sudoers and the audit print.
   */
  execute?(input: I, settings: OpSettings, host: OpHost): Promise<ParseOutcome<R>>;
  /** Resources that two invocations must never use at once (one job per key at a time). */
  resourceKeys(input: I): readonly string[];
}

/** An op with its input and result types erased, as the registry holds it. */
export type AnyOp = OpDefinition<unknown, unknown>;
