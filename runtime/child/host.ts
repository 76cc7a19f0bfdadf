/**
 * The {@linkcode OpHost} a fenced child hands to an op that runs itself: host commands of the
 * op's own binaries, and a few file calls on the op's declared paths only. Deno's grants are the
 * fence; this adds that a path must be a declared one or a name directly inside one, so not even
 * a bug in an op can walk through a symlink further down (Deno checks paths as written).
 *
 * Needs the child's own grants: run for the op's binaries, read and write for its paths.
 *
 * @module
 */
import { pathInfo } from "../process/write_base.ts";
import type {
  AnyOp,
  BinaryName,
  CommandOutput,
  ErrorCode,
  HostCommand,
  HostRunOptions,
  OpHost,
  PathGrants,
  PathInfo,
} from "../../ops/types.ts";
import { type HostRun, runHostCommand, type RunHostCommandOptions } from "./host_command.ts";

/** A refusal or failure of the host, with the code the child reports. */
export class HostError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "HostError";
    this.code = code;
  }
}

/** One host command the op ran, as run. */
export interface HostRunRecord {
  readonly argv: readonly string[];
  readonly run: HostRun;
}

function normalised(path: string): boolean {
  return path.startsWith("/") && path !== "/" &&
    path.slice(1).split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/** Whether `path` is one of `roots` or a name directly inside one. */
export function withinOneLevel(path: string, roots: readonly string[]): boolean {
  if (!normalised(path)) return false;
  const parent = path.slice(0, path.lastIndexOf("/")) || "/";
  return roots.includes(path) || roots.includes(parent);
}

function codeOf(error: unknown): ErrorCode {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
    ? "denied"
    : "command_failed";
}

/** Options of a {@linkcode ChildHost}. */
export interface ChildHostOptions {
  /**
   * Told each output line of every command run, as it comes (an op that streams progress).
   * @default {none}
   */
  readonly onLine?: RunHostCommandOptions["onLine"];
}

/** The child's host for one request; it records every command run. */
export class ChildHost implements OpHost {
  readonly #op: AnyOp;
  readonly #binaries: ReadonlyMap<string, string>;
  readonly #paths: PathGrants;
  readonly #onLine: RunHostCommandOptions["onLine"];
  readonly #runs: HostRunRecord[] = [];

  /**
   * @param op The op being served.
   * @param binaries Fenced binaries by name, canonical paths.
   * @param paths The op's declared paths for these settings.
   * @param options Where output lines go.
   */
  constructor(
    op: AnyOp,
    binaries: ReadonlyMap<string, string>,
    paths: PathGrants,
    options: ChildHostOptions = {},
  ) {
    this.#op = op;
    this.#binaries = binaries;
    this.#paths = paths;
    this.#onLine = options.onLine;
  }

  /** Every command run so far, in order. */
  get runs(): readonly HostRunRecord[] {
    return this.#runs;
  }

  async run(command: HostCommand, options: HostRunOptions = {}): Promise<CommandOutput> {
    const path = this.#binaries.get(command.binary);
    if (!this.#op.permissions.run.includes(command.binary as BinaryName) || path === undefined) {
      throw new HostError(
        "denied",
        `Cannot run "${command.binary}": not granted to op "${this.#op.name}"`,
      );
    }
    let run: HostRun;
    try {
      const onLine = this.#onLine;
      run = await runHostCommand(path, command.args, { ...options, ...(onLine ? { onLine } : {}) });
    } catch (error) {
      if (error instanceof RangeError) throw error;
      const code = error instanceof Deno.errors.NotFound ? "binary_not_found" : codeOf(error);
      throw new HostError(code, `Cannot spawn "${path}": ${(error as Error).message}`);
    }
    this.#runs.push({ argv: [path, ...command.args], run });
    return run.output;
  }

  async lstat(path: string): Promise<PathInfo | undefined> {
    this.#allow("inspect", path, this.#paths.read);
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw new HostError(codeOf(error), `Cannot inspect "${path}": ${(error as Error).message}`);
    }
    return pathInfo(info);
  }

  async realPath(path: string): Promise<string> {
    this.#allow("resolve", path, this.#paths.read);
    try {
      return await Deno.realPath(path);
    } catch (error) {
      throw new HostError(codeOf(error), `Cannot resolve "${path}": ${(error as Error).message}`);
    }
  }

  async mkdir(path: string, mode: number): Promise<void> {
    this.#allow("create", path, this.#paths.write);
    try {
      await Deno.mkdir(path, { mode });
      // The umask (0077 under the generated unit) must not decide who may reach a mount.
      await Deno.chmod(path, mode);
    } catch (error) {
      throw new HostError(codeOf(error), `Cannot create "${path}": ${(error as Error).message}`);
    }
  }

  async rmdir(path: string): Promise<void> {
    this.#allow("remove", path, this.#paths.write);
    try {
      if (!(await Deno.lstat(path)).isDirectory) throw new Error("not a directory");
      await Deno.remove(path);
    } catch (error) {
      throw new HostError(codeOf(error), `Cannot remove "${path}": ${(error as Error).message}`);
    }
  }

  #allow(action: string, path: string, roots: readonly string[]): void {
    if (!withinOneLevel(path, roots)) {
      throw new HostError(
        "denied",
        `Cannot ${action} "${path}": op "${this.#op.name}" may only use its declared paths ` +
          "and names directly inside them",
      );
    }
  }
}
