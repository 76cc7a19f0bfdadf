/**
 * The plugin contract every op declares as plain data: what it accepts, which binaries it may run,
 * how it builds the host command line and how it reads the result, and what it owns besides:
 * its host settings, its human rendering and its error codes. Nothing here does I/O.
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
 * op's {@linkcode WriteBase}, whose safety it checks on disk (see `runtime/process/write_base.ts`).
 */
export interface PathGrants {
  /** Absolute paths the child may read, passed as `--allow-read`. */
  readonly read: readonly string[];
  /** Absolute paths the child may write, passed as `--allow-write`; each inside a read path. */
  readonly write: readonly string[];
}

/** One host command line: a fenced binary and its argv (never a shell string). */
export interface HostCommand {
  /** The binary to run, by name; the runtime resolves it to its path at start-up. */
  readonly binary: BinaryName;
  /** The arguments after the binary, one element each; no shell ever sees them. */
  readonly args: readonly string[];
}

/**
 * Every op's host settings in one record, keyed by setting name (a name, like its flag, belongs
 * to one op). The runtime never reads a key: it builds the record from flags and the environment
 * with each op's {@linkcode SettingDeclaration}s, validates it, passes it on to each process it
 * starts and hands it to every op method, which reads its own settings only.
 */
export type OpSettings = Readonly<Record<string, unknown>>;

/**
 * One host setting an op declares. An operator sets it with a flag, the kebab-case of its name
 * (`mountBase` is `--mount-base`), or with its environment variable; every process boundary
 * carries it the same way. On a command line a value is text: the schema takes that text, or
 * `undefined` for the default, and returns the value (a string or a number).
 */
export interface SettingDeclaration<T = unknown> {
  /**
   * A zod 4 schema that validates the text an operator gave; its default applies when none was
   * given. (Hidden from the API docs only because its type is zod's.)
   * @ignore
   */
  readonly schema: z.ZodType<T>;
  /**
   * The environment variable that sets it when the flag is absent.
   * @default {`ROOTFENCE_` and the name in upper snake case, e.g. `ROOTFENCE_MOUNT_BASE`}
   */
  readonly env?: string;
  /** What the value is called in usage text, e.g. `dir` in `--mount-base <dir>`. */
  readonly arg: string;
  /** One line of help. */
  readonly help: string;
}

/** An op's settings, declared field by field. */
export type SettingsDeclaration<S> = { readonly [K in keyof S]: SettingDeclaration<S[K]> };

/**
 * A check on a result that succeeded, for monitoring: `--fail-on <level>` on `deno task op` and
 * `deno task report` picks a level, and the CLI exits 1 when the result fails it. `L` names the
 * levels.
 */
export interface FailOn<R, L extends string = string> {
  /** Every level an operator may pick, e.g. `["failing", "warning", "never"]`. */
  readonly levels: readonly L[];
  /** The level when `--fail-on` is not given. */
  readonly fallback: L;
  /** Why `result` fails the check at `level`, in a few words; `undefined` when it passes. Pure. */
  fails(result: R, level: L): string | undefined;
}

/**
 * The one directory an op's write paths must lie inside. Root writes (or mounts) below it, and
 * both the kernel and Deno take its path as written, so before any write is granted the runtime
 * checks on disk that it and every directory above it is a real directory owned by root that
 * nobody else may change (`runtime/process/write_base.ts`), and refuses the op with `unsafeCode` while it
 * is not. It may be missing: the op creates it (mode 0755, see `ops/_directory.ts`) on first use.
 */
export interface WriteBase<C extends string = string> {
  /** The directory, from the op's settings. */
  readonly path: string;
  /** What messages call it, e.g. `"mount base"`. */
  readonly name: string;
  /** The op's own code for a refusal while the base is unsafe, e.g. `"mount_base_unsafe"`. */
  readonly unsafeCode: C;
}

/** What running a host command produced, as the child saw it. */
export interface CommandOutput {
  /** The command's exit status. */
  readonly exitCode: number;
  /** The signal that ended the command, e.g. `"SIGKILL"`; `null` when it exited by itself. */
  readonly signal: string | null;
  /** Standard output, decoded as UTF-8 and cut at the runtime's cap (1 MiB). */
  readonly stdout: string;
  /** Standard error, decoded as UTF-8 and cut at the runtime's cap (1 MiB). */
  readonly stderr: string;
  /** Whether stdout went past the cap, so `stdout` holds only its start. */
  readonly stdoutTruncated: boolean;
  /** Whether stderr went past the cap, so `stderr` holds only its start. */
  readonly stderrTruncated: boolean;
  /**
   * Whether the command was killed (SIGKILL) for outliving its
   * {@linkcode HostRunOptions.timeoutMs}; absent when it ran to its end.
   */
  readonly timedOut?: boolean;
}

/** How {@linkcode OpHost.run} runs one command. */
export interface HostRunOptions {
  /**
   * Kills the command with SIGKILL after this many milliseconds, so that one stuck command (a
   * dying disk) cannot spend the op's whole timeout; its output then has `timedOut`.
   * @default {none: only the op's own timeout applies}
   */
  readonly timeoutMs?: number;
}

/** What an op sees of a path through {@linkcode OpHost.lstat} (symlinks are not followed). */
export interface PathInfo {
  /** What the path is; `"other"` for devices, sockets, FIFOs and the like. */
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
  run(command: HostCommand, options?: HostRunOptions): Promise<CommandOutput>;
  /** Facts about a path, without following a final symlink; `undefined` when it is absent. */
  lstat(path: string): Promise<PathInfo | undefined>;
  /** The path with every symlink resolved. */
  realPath(path: string): Promise<string>;
  /** Creates one directory (parents must exist) with exactly this mode, umask ignored. */
  mkdir(path: string, mode: number): Promise<void>;
  /** Removes one empty directory; never a file, never recursively. */
  rmdir(path: string): Promise<void>;
}

/**
 * The runtime's own stable error codes, which any op may also return. Each op adds its own in
 * {@linkcode OpDefinition.errors}; the registry's `ERROR_CODES` is both together.
 */
export const RUNTIME_ERROR_CODES = [
  "invalid_input",
  "binary_not_found",
  "denied",
  "timeout",
  "output_too_large",
  "command_failed",
  "child_failed",
  "interrupted",
  "journal_unavailable",
] as const;

/** One of {@linkcode RUNTIME_ERROR_CODES}. */
export type RuntimeErrorCode = typeof RUNTIME_ERROR_CODES[number];

/**
 * A stable error code callers may handle: one of {@linkcode RUNTIME_ERROR_CODES} or one an op
 * declares. Lowercase words joined by `_`.
 */
export type ErrorCode = string;

/**
 * The result of reading a host command's output: a value, or a failure classified with one of
 * the runtime's codes or one of `C`, the op's own.
 */
export type ParseOutcome<R, C extends string = never> =
  | { readonly ok: true; readonly value: R }
  | {
    readonly ok: false;
    readonly code: C | RuntimeErrorCode;
    readonly message: string;
  };

/**
 * An op: a plugin module's whole declaration. `I` is its input, `R` its result, `S` its settings
 * and `C` its own error codes.
 *
 * Methods use method syntax on purpose: it lets a registry hold ops of different types as
 * {@linkcode AnyOp} while each op stays fully typed.
 */
export interface OpDefinition<I, R, S = OpSettings, C extends string = never> {
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
  /**
   * Whether its host commands' output lines stream as progress events while they run: for an op
   * that takes minutes. A read stays cheap without: no line is split, sent or journaled. The
   * result is the same either way.
   * @default {false}
   */
  readonly progress?: boolean;
  /** A valid input, for documentation and for the audit's hostile-argument check. */
  readonly example: I;
  /**
   * The host settings this op reads, each with its default, environment variable and help. The
   * runtime offers each as a flag, validates it and hands it to the methods below.
   */
  readonly settings?: SettingsDeclaration<S>;
  /** The op's own error codes, beyond {@linkcode RUNTIME_ERROR_CODES}. */
  readonly errors?: readonly C[];
  /**
   * The strict input schema, a zod 4 schema (unknown keys rejected); settings fix host-dependent
   * bounds. (Hidden from the API docs only because its type is zod's.)
   * @ignore
   */
  schema(settings: S): z.ZodType<I>;
  /** Builds the host command from validated input. Pure. */
  argv(input: I, settings: S): HostCommand;
  /** Reads the command's output into a result or a classified error. Pure. */
  parse(output: CommandOutput, input: I): ParseOutcome<R, C>;
  /** A compact human view of a result (`deno task op <op> --format table`). Pure. */
  render?(result: R): string;
  /** A check on a successful result that `--fail-on` turns into the exit status. */
  readonly failOn?: FailOn<R>;
  /**
   * Paths the child may read and write, besides running its binaries. Most ops have none: they
   * get no file access at all. Write paths need a {@linkcode OpDefinition.writeBase}.
   */
  paths?(settings: S): PathGrants;
  /** The directory every write path lies inside, checked on disk by the runtime. */
  writeBase?(settings: S): WriteBase<C>;
  /**
   * Takes over execution when one host command is not enough: the child calls this instead of
   * running {@linkcode OpDefinition.argv} and {@linkcode OpDefinition.parse} itself. All I/O
   * goes through `host`, so the op stays pure code; its main command must still be `argv()`,
   * which `--dry-run`, sudoers and the audit print.
   */
  execute?(input: I, settings: S, host: OpHost): Promise<ParseOutcome<R, C>>;
  /** Resources that two invocations must never use at once (one job per key at a time). */
  resourceKeys(input: I): readonly string[];
}

/** An op with its types erased, as the registry holds it. */
export type AnyOp = OpDefinition<unknown, unknown, OpSettings, string>;
