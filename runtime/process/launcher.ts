/**
 * The launcher: the only module that starts fenced children. It validates input, builds the
 * child's command line with {@linkcode buildChildCommand}, spawns it in its own process group,
 * hands the request to it (pooled, or one child per call) and kills the whole tree on timeout.
 *
 * Needs: read (to resolve binaries and Deno, and to inspect the ops' write bases), env
 * (`DENO_DIR`, `HOME`, `XDG_CACHE_HOME`) and run for Deno (or sudo) and `kill`.
 *
 * @module
 */
import { OPS } from "../../ops/mod.ts";
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { CHILD_BUNDLE, projectPath } from "../paths.ts";
import { FencedChild } from "./fenced_child.ts";
import { ChildPool, type PoolOptions } from "./pool.ts";
import { RootfenceError } from "../errors.ts";
import { DEFAULT_BIN_PATH, DEFAULT_RUNNER, DEFAULT_SUDO_PATH, POOL_DEFAULTS } from "../defaults.ts";
import { resolveBinaries, type ResolvedBinaries } from "./fence.ts";
import { findKill } from "./host_paths.ts";
import { buildChildCommand, type ChildCommand, type RunnerMode } from "./child_command.ts";
import { baseProblems } from "./write_base.ts";
import { resolveSettings } from "../settings.ts";
import { invalidInput } from "../invalid_input.ts";
import type { CommandFacts, Progress } from "./protocol.ts";

/** Options of {@linkcode Launcher.create}. */
export interface LauncherOptions {
  /**
   * Where fenced binaries are looked for.
   * @default {"/usr/sbin:/usr/bin:/sbin:/bin"}
   */
  readonly binPath?: string;
  /**
   * The ops this launcher serves: it knows their settings and write bases. Children must run an
   * entry with the same registry (the sealed child has {@linkcode OPS}).
   * @default {OPS}
   */
  readonly ops?: readonly AnyOp[];
  /**
   * Host settings by name (e.g. `{ mountBase: "/srv/usb" }`), validated by the declaring ops;
   * every setting left out gets its default.
   * @default {every default}
   */
  readonly settings?: OpSettings;
  /**
   * How children gain root.
   * @default {"direct"}
   */
  readonly runner?: RunnerMode;
  /**
   * sudo, for `runner: "sudo"`.
   * @default {"/usr/bin/sudo"}
   */
  readonly sudoPath?: string;
  /**
   * The Deno binary children run on.
   * @default {the canonical path of the running Deno}
   */
  readonly denoPath?: string;
  /**
   * Binaries already resolved (by a parent that may read the bin path); skips resolution, so
   * this process needs no read permission.
   * @default {resolved from binPath}
   */
  readonly binaries?: ResolvedBinaries;
  /**
   * What is unsafe on disk about each write base, by path, found by a parent that may read it;
   * skips the check, so this process needs no read permission there. An op that writes below a
   * base with problems is refused with its own code (`mount_base_unsafe` for `mount-usb`); a base
   * left out counts as safe.
   * @default {checked now with {@linkcode baseProblems}}
   */
  readonly baseProblems?: Readonly<Record<string, readonly string[]>>;
  /**
   * What children run.
   * @default {CHILD_ENTRY}
   */
  readonly entryPath?: string;
  /**
   * The `kill` binary used to end a child's process group.
   * @default {/usr/bin/kill or /bin/kill, resolved}
   */
  readonly killPath?: string;
  /**
   * Pre-started children; leave out for one child per invocation (the CLI's one-shot case).
   * @default {no pool}
   */
  readonly pool?: PoolOptions;
}

/** The outcome of one invocation, as the CLI prints it. */
export interface Invocation {
  /** The op's name. */
  readonly op: string;
  /** Whether the op succeeded; when not, `error` says why. */
  readonly ok: boolean;
  /** The host command line, binary resolved. */
  readonly argv: readonly string[];
  /** The op's parsed result (its own report type), when `ok`. */
  readonly result?: unknown;
  /** When not `ok`: a stable `code` (see `ERROR_CODES`), a message and the facts. */
  readonly error?: Readonly<Record<string, unknown>> & { readonly code: string };
  /** What the host command did, when one ran. */
  readonly command?: CommandFacts;
  /** Milliseconds from validation to the reply. */
  readonly durationMs: number;
}

/** Options of {@linkcode Launcher.invoke}. */
export interface InvokeOptions {
  /**
   * Kill the child's process tree after this long.
   * @default {the op's own timeout}
   */
  readonly timeoutMs?: number;
  /** Aborting kills the child's process tree; the invocation ends as `interrupted`. */
  readonly signal?: AbortSignal;
  /**
   * Told the process group of the child that takes the request, and when its timeout ends (ms
   * since the epoch), before the request is sent: so a crash cannot lose track of it. If it
   * throws, the request is never sent and the child goes back unused (a mutating op's is ended):
   * a {@linkcode RootfenceError} fails the invocation with its code, anything else propagates.
   */
  readonly onStart?: (pgid: number, deadline: number) => void;
  /**
   * Told each progress line, as it comes, of an op that streams progress (`progress: true`):
   * validated, and capped at 1000 lines and 128 KiB, then one `{ truncated: true }`.
   */
  readonly onProgress?: (progress: Progress) => void;
}

/** What every fenced child runs: the sealed bundle (see `runtime/child/bundle.ts`). */
export const CHILD_ENTRY: string = CHILD_BUNDLE;

/** The fence probe, started under an op's exact flags by tests and the audit. */
export const PROBE_ENTRY: string = projectPath("runtime/audit/probe_child.ts");

/**
 * Validates input against an op's schema without spawning anything.
 *
 * @throws {RootfenceError} `invalid_input` with the zod issue paths.
 */
export function validateInput(op: AnyOp, settings: OpSettings, raw: unknown): unknown {
  const parsed = op.schema(settings).safeParse(raw);
  if (!parsed.success) {
    const { code, message, issues } = invalidInput(op, parsed.error);
    throw new RootfenceError(code, message, { issues });
  }
  return parsed.data;
}

interface ResolvedOptions {
  readonly binPath: string;
  readonly settings: OpSettings;
  readonly runner: RunnerMode;
  readonly sudoPath: string;
  readonly denoPath: string;
  readonly baseProblems: Readonly<Record<string, readonly string[]>>;
  readonly entryPath: string;
}

/** Starts and runs fenced children. Create one with {@linkcode Launcher.create}. */
export class Launcher {
  readonly #binaries: ResolvedBinaries;
  readonly #options: ResolvedOptions;
  readonly #killPath: string | undefined;
  readonly #pool: ChildPool | undefined;

  private constructor(
    binaries: ResolvedBinaries,
    options: ResolvedOptions,
    killPath: string | undefined,
    pool: PoolOptions | undefined,
  ) {
    this.#binaries = binaries;
    this.#options = options;
    this.#killPath = killPath;
    this.#pool = pool && (pool.size ?? POOL_DEFAULTS.size) > 0
      ? new ChildPool((op) => this.start(op), pool)
      : undefined;
  }

  /**
   * Resolves the fenced binaries and Deno once, so every child of this launcher gets the same
   * canonical grants.
   *
   * @throws {RangeError} For a relative bin path or a setting its op refuses (`SettingError`).
   */
  static async create(options: LauncherOptions = {}): Promise<Launcher> {
    const {
      binPath = DEFAULT_BIN_PATH,
      ops = OPS,
      runner = DEFAULT_RUNNER,
      sudoPath = DEFAULT_SUDO_PATH,
      entryPath = CHILD_ENTRY,
    } = options;
    const settings = resolveSettings(ops, options.settings);
    const denoPath = options.denoPath ?? await Deno.realPath(Deno.execPath());
    const binaries = options.binaries ?? await resolveBinaries(binPath);
    const killPath = options.killPath ?? await findKill();
    const problems = options.baseProblems ?? await baseProblems(ops, settings);
    return new Launcher(
      binaries,
      { binPath, settings, runner, sudoPath, denoPath, baseProblems: problems, entryPath },
      killPath,
      options.pool,
    );
  }

  /**
   * The pool, when pooling is on (the receiver's; not part of the library's API).
   * @ignore
   */
  get pool(): ChildPool | undefined {
    return this.#pool;
  }

  /** Pre-starts pooled children for these ops (whose binaries were found). */
  warm(ops: readonly AnyOp[]): void {
    for (const op of ops) {
      if (op.permissions.run.every((name) => this.#binaries[name] !== undefined)) {
        this.#pool?.prestart(op);
      }
    }
  }

  /** Ends every pooled child. */
  async close(): Promise<void> {
    await this.#pool?.close();
  }

  /** The `kill` binary this launcher uses, if one was found. */
  get killPath(): string | undefined {
    return this.#killPath;
  }

  /** The fenced binaries this launcher resolved. */
  get binaries(): ResolvedBinaries {
    return this.#binaries;
  }

  /** What is unsafe about each write base on disk, by path (empty lists when safe). */
  get baseProblems(): Readonly<Record<string, readonly string[]>> {
    return this.#options.baseProblems;
  }

  /**
   * Refuses an op that writes below its write base while the base is unsafe.
   *
   * @throws {RootfenceError} With the op's own code (`mount_base_unsafe`) naming every problem.
   */
  assertBaseSafe(op: AnyOp): void {
    const { settings } = this.#options;
    const base = op.writeBase?.(settings);
    if (base === undefined || (op.paths?.(settings).write.length ?? 0) === 0) return;
    const problems = this.#options.baseProblems[base.path] ?? [];
    if (problems.length === 0) return;
    throw new RootfenceError(
      base.unsafeCode,
      `Cannot run "${op.name}": ${base.name} "${base.path}" is unsafe: ${problems.join("; ")}`,
      { problems },
    );
  }

  /** The settings every op's methods see, validated: each op's, or its default. */
  get settings(): OpSettings {
    return this.#options.settings;
  }

  /**
   * The exact command line a child of this op gets.
   *
   * @param op The op.
   * @param entryPath Another entry under the same flags: only the fence probe uses this.
   * @throws {RootfenceError} `binary_not_found` or `denied` (see {@linkcode buildChildCommand}).
   * @ignore
   */
  childCommand(op: AnyOp, entryPath: string = this.#options.entryPath): ChildCommand {
    return buildChildCommand(op, {
      denoPath: this.#options.denoPath,
      entryPath,
      binaries: this.#binaries,
      settings: this.settings,
      runner: this.#options.runner,
      sudoPath: this.#options.sudoPath,
      binPath: this.#options.binPath,
    });
  }

  /**
   * The host argv an input would produce, binary resolved (or bare when not found).
   *
   * @throws {RootfenceError} `invalid_input`.
   */
  hostArgv(op: AnyOp, raw: unknown): string[] {
    const input = validateInput(op, this.settings, raw);
    const host = op.argv(input, this.settings);
    return [this.#binaries[host.binary] ?? host.binary, ...host.args];
  }

  /**
   * Starts a child for `op` that loads its modules and then waits for input on stdin.
   *
   * @throws {RootfenceError} `binary_not_found` or `denied` before anything is spawned.
   * @ignore
   */
  start(op: AnyOp): FencedChild {
    return new FencedChild(op, this.spawn(op), (p) => this.#killTree(p));
  }

  /**
   * Spawns `entryPath` under `op`'s exact child flags, in its own process group (so a timeout
   * can kill the whole tree), with stdin, stdout and stderr piped. The one place children are
   * spawned; the audit's probe uses it with its own entry.
   *
   * @throws {RootfenceError} `binary_not_found` or `denied` before anything is spawned.
   */
  spawn(op: AnyOp, entryPath: string = this.#options.entryPath): Deno.ChildProcess {
    const command = this.childCommand(op, entryPath);
    return new Deno.Command(command.command, {
      args: [...command.args],
      clearEnv: true,
      env: { ...command.env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
  }

  /**
   * Whether a process group still has members. A group of another user (root's, seen from sudo
   * mode) counts as alive: it exists, this process just may not signal it.
   */
  async groupAlive(pgid: number): Promise<boolean> {
    if (this.#killPath === undefined) return false;
    const output = await new Deno.Command(this.#killPath, {
      args: ["-0", "--", `-${pgid}`],
      clearEnv: true,
      stdout: "null",
      stderr: "piped",
    }).output();
    return output.code === 0 || /not permitted/i.test(new TextDecoder().decode(output.stderr));
  }

  /** Kills a whole process group (what a crash left behind past its deadline). */
  async killGroup(pgid: number): Promise<void> {
    if (this.#killPath === undefined) return;
    await new Deno.Command(this.#killPath, {
      args: ["-KILL", "--", `-${pgid}`],
      clearEnv: true,
      stdout: "null",
      stderr: "null",
    }).output().catch(() => undefined);
  }

  async #killTree(process: Deno.ChildProcess): Promise<void> {
    if (this.#killPath !== undefined) {
      // Deno.kill on a group needs an unscoped run grant; the kill binary does not.
      await new Deno.Command(this.#killPath, {
        args: ["-KILL", "--", `-${process.pid}`],
        clearEnv: true,
        stdout: "null",
        stderr: "null",
      }).output().catch(() => undefined);
    }
    try {
      // For sudo, which cannot be signalled across users but relays SIGTERM to its command.
      process.kill("SIGTERM");
    } catch {
      // already gone
    }
  }

  /**
   * Runs one op end to end. Never throws for anything the input or the host causes: failures
   * come back as `ok: false` with a stable code.
   */
  async invoke(op: AnyOp, raw: unknown, options: InvokeOptions = {}): Promise<Invocation> {
    const started = performance.now();
    let argv: string[] = [];
    try {
      argv = this.hostArgv(op, raw);
      this.assertBaseSafe(op);
      const timeoutMs = options.timeoutMs ?? op.timeoutMs;
      const attempt = async () => {
        const child = this.#pool ? await this.#pool.acquire(op, options.signal) : this.start(op);
        try {
          options.onStart?.(child.pid, Date.now() + timeoutMs);
          return await child.run(raw, timeoutMs, {
            signal: options.signal,
            onProgress: options.onProgress,
          });
        } finally {
          if (this.#pool) this.#pool.release(child);
          else void child.close();
        }
      };
      let reply;
      try {
        reply = await attempt();
      } catch (error) {
        // A pooled child can die while idle (OOM killer, an operator's kill) and be handed out
        // before anyone notices. A read-only op may safely run again; a mutating one never.
        const retry = this.#pool !== undefined && !op.mutates &&
          error instanceof RootfenceError && error.code === "child_failed";
        if (!retry) throw error;
        reply = await attempt();
      }
      const durationMs = Math.round(performance.now() - started);
      if (reply.ok) {
        return {
          op: op.name,
          ok: true,
          argv,
          result: reply.result,
          command: reply.command,
          durationMs,
        };
      }
      const { command, ...error } = reply.error;
      return command === undefined
        ? { op: op.name, ok: false, argv, error, durationMs }
        : { op: op.name, ok: false, argv, error, command, durationMs };
    } catch (error) {
      if (!(error instanceof RootfenceError)) throw error;
      const durationMs = Math.round(performance.now() - started);
      return { op: op.name, ok: false, argv, error: error.toJSON(), durationMs };
    }
  }
}
