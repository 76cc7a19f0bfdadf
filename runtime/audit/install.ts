/**
 * Check 6, the install check (sudo deployments): nothing a pinned sudoers line makes root load
 * or execute may be changeable by the service user. The lines come from the sudoers drop-in
 * itself (the installed file, or the one `deno task sudoers` would write), and every path they
 * depend on is checked: the Deno binary sudo runs, the entry module and everything it imports,
 * the config and lock, the op binaries, the ops' write bases (the mount base), the Deno cache,
 * and every directory above each. A symlink anywhere on those paths is refused, and writability
 * is decided by the kernel for a process running as the user with its real groups (ACLs count),
 * not by mode bits.
 *
 * Needs: root, read, run (`id`, `setpriv`, `find`, the audit's own Deno for `deno info`).
 *
 * @module
 */
import { OPS } from "../../ops/mod.ts";
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { sudoersFile } from "../deploy/sudoers.ts";
import { DEFAULT_BIN_PATH, DEFAULT_SUDO_PATH } from "../defaults.ts";
import { resolveBinaries, type ResolvedBinaries } from "../process/fence.ts";
import { resolveSettings } from "../settings.ts";
import { declaredBases } from "../process/write_base.ts";
import { moduleGraph } from "./_module_graph.ts";
import { writableAs } from "./access.ts";
import { type Account, account } from "./account.ts";
import { pinnedPaths } from "./pinned_paths.ts";
import { pinnedCommands } from "./sudoers_commands.ts";
import { type CheckResult, result } from "./types.ts";

/** The deployment to check, as an operator names it. */
export interface InstallTarget {
  /** The service user the receiver runs as. */
  readonly user: string;
  /** The install dir the generated lines pin; unused when `sudoersPath` is given. */
  readonly dir?: string;
  /** An installed drop-in (e.g. `/etc/sudoers.d/rootfence`): its lines are audited, and so is it. */
  readonly sudoersPath?: string;
  /** The Deno binary the generated lines pin. @default {the audit's own Deno, canonical} */
  readonly denoPath?: string;
  /**
   * The deployment's host settings by name, e.g. `{ mountBase: "/srv/usb" }`; every setting left
   * out gets its default.
   * @default {every default}
   */
  readonly settings?: OpSettings;
  /** The Deno cache root's child reads (sudo resets `DENO_DIR`). Unchecked when left out. */
  readonly denoDir?: string;
}

/** Options of {@linkcode checkInstall}: the target, and what generating its lines needs. */
export interface CheckInstallOptions extends InstallTarget {
  /** @default {the registry} */
  readonly ops?: readonly AnyOp[];
  /** @default {resolved on `binPath`} */
  readonly binaries?: ResolvedBinaries;
  /** @default {"/usr/sbin:/usr/bin:/sbin:/bin"} */
  readonly binPath?: string;
  /** @default {"/usr/bin/sudo"} */
  readonly sudoPath?: string;
  /** The Deno that reads import graphs, never the pinned one. @default {Deno.execPath()} */
  readonly infoDenoPath?: string;
}

/** Whether a path must exist, and whether a directory is walked (a place is not). */
type Role = "required" | "optional" | "place";

interface Entry {
  readonly info: Deno.FileInfo;
  /** Only on the way to something checked: a sticky, root-owned directory is then fine. */
  readonly ancestorOnly: boolean;
}

const LIMIT = 200_000;

/** Every path from `/` down to `path`: `/`, `/opt`, `/opt/rf`, ... */
function chain(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return ["/", ...parts.map((_, i) => "/" + parts.slice(0, i + 1).join("/"))];
}

/** One pass over the paths; `judge()` asks the kernel about everything seen since the last. */
class Inspection {
  readonly problems = new Set<string>();
  readonly entries = new Map<string, Entry>();
  /** Paths with a problem, so that nothing below them is read. */
  readonly #bad = new Set<string>();
  #unjudged: string[] = [];
  readonly #who: Account;

  constructor(who: Account) {
    this.#who = who;
  }

  /** Whether `path` and every directory above it passed so far. */
  sound(path: string): boolean {
    return chain(path).every((step) => !this.#bad.has(step));
  }

  fail(path: string, problem: string): void {
    this.#bad.add(path);
    this.problems.add(problem);
  }

  #record(path: string, info: Deno.FileInfo, ancestorOnly: boolean): void {
    const known = this.entries.get(path);
    if (known !== undefined && (ancestorOnly || !known.ancestorOnly)) return;
    // New, or seen only as an ancestor before and now checked itself: judge it (again).
    this.#unjudged.push(path);
    this.entries.set(path, { info, ancestorOnly });
    if (info.uid === this.#who.uid) this.fail(path, `${path} is owned by ${this.#who.name}`);
  }

  /** Inspects `path` and each directory above it; walks it when it is a directory. */
  async inspect(path: string, role: Role): Promise<void> {
    const steps = chain(path);
    let above: Deno.FileInfo | undefined;
    for (const [i, step] of steps.entries()) {
      let info: Deno.FileInfo;
      try {
        info = await Deno.lstat(step);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) {
          this.fail(step, `Cannot inspect ${step}: ${(error as Error).message}`);
        } else if (role === "required") this.fail(path, `${path} does not exist`);
        // Whoever may add entries to the last directory that exists may create the rest (as a
        // symlink, say), even when it is sticky.
        else if (above !== undefined) this.#record(steps[i - 1]!, above, false);
        return;
      }
      above = info;
      if (info.isSymlink) {
        this.fail(step, `${step} is a symlink (to ${await Deno.readLink(step)})`);
        return;
      }
      const last = i === steps.length - 1;
      this.#record(step, info, !last);
      if (last && info.isDirectory && role !== "place") await this.#walk(path);
    }
  }

  async #walk(dir: string): Promise<void> {
    for await (const item of Deno.readDir(dir)) {
      if (this.entries.size > LIMIT) {
        this.fail(dir, `too many paths to check (over ${LIMIT})`);
        return;
      }
      const path = `${dir}/${item.name}`;
      const info = await Deno.lstat(path);
      if (info.isSymlink) {
        // Inside a walked tree (a cache, a package), a link is judged by where it leads.
        const target = await Deno.realPath(path).catch(() => undefined);
        if (target === undefined) {
          const to = await Deno.readLink(path);
          this.fail(path, `${path} is a symlink (to ${to}) that leads nowhere`);
        } else if (!this.entries.has(target)) await this.inspect(target, "required");
        continue;
      }
      this.#record(path, info, false);
      if (info.isDirectory) await this.#walk(path);
    }
  }

  /** Asks the kernel, as the user, about every path recorded since the last call. */
  async judge(): Promise<void> {
    const paths = this.#unjudged;
    this.#unjudged = [];
    const who = this.#who;
    for (const path of await writableAs(who, paths)) {
      const { info, ancestorOnly } = this.entries.get(path)!;
      const mode = info.mode ?? 0;
      // In a sticky directory only owners replace entries, and owned entries are reported.
      if (ancestorOnly && info.isDirectory && (mode & 0o1000) !== 0) continue;
      if (info.uid === who.uid) continue;
      const why = (mode & 0o002) !== 0
        ? `mode ${(mode & 0o7777).toString(8).padStart(4, "0")}: anyone may write it`
        : "access check as the user: ACL or group";
      this.fail(path, `${path} is writable by ${who.name} (${why})`);
    }
  }
}

async function sudoersText(options: CheckInstallOptions): Promise<string> {
  if (options.sudoersPath !== undefined) return await Deno.readTextFile(options.sudoersPath);
  if (options.dir === undefined) throw new TypeError("Cannot check an install: no dir, no sudoers");
  const binPath = options.binPath ?? DEFAULT_BIN_PATH;
  return sudoersFile(options.ops ?? OPS, {
    user: options.user,
    installDir: options.dir,
    denoPath: options.denoPath ?? await Deno.realPath(Deno.execPath()),
    binaries: options.binaries ?? await resolveBinaries(binPath),
    settings: resolveSettings(OPS, options.settings),
    binPath,
    sudoPath: options.sudoPath ?? DEFAULT_SUDO_PATH,
  });
}

function failed(problem: string, evidence: unknown): CheckResult {
  return result("install", "Install check", [problem], [], evidence);
}

/**
 * Runs check 6: audits every path the pinned sudoers lines make root load or execute, as the
 * service user would see it.
 *
 * @param options The deployment: service user, and the installed drop-in or what generates it.
 * @returns A failing result with one line per problem (`<path> is writable by <user> (...)`,
 * `<path> is a symlink (to ...)`, `<path> is owned by <user>`), or a passing one that counts
 * the paths checked.
 * @example
 * ```ts ignore
 * const check = await checkInstall({
 *   user: "rootfence",
 *   sudoersPath: "/etc/sudoers.d/rootfence",
 *   denoDir: "/root/.cache/deno",
 * });
 * check.status; // "pass" when nothing root runs can be changed by rootfence
 * ```
 */
export async function checkInstall(options: CheckInstallOptions): Promise<CheckResult> {
  const sudoers = options.sudoersPath ?? "generated";
  let who: Account;
  try {
    who = await account(options.user);
  } catch (error) {
    return failed((error as Error).message, { user: options.user, sudoers });
  }
  if (who.uid === 0) return failed(`service user "${who.name}" is root`, { user: who, sudoers });
  let text: string;
  try {
    text = await sudoersText(options);
  } catch (error) {
    return failed(`Cannot read the sudoers lines: ${(error as Error).message}`, { user: who });
  }
  const { commands, problems: sudoersProblems } = pinnedCommands(text);
  const lines = commands.map(pinnedPaths);
  const check = new Inspection(who);
  for (const problem of sudoersProblems) check.problems.add(problem);
  if (commands.length === 0) check.problems.add("sudoers: no pinned command line");

  try {
    if (options.sudoersPath !== undefined) await check.inspect(options.sudoersPath, "required");
    for (const line of lines) {
      for (const problem of line.problems) check.problems.add(problem);
      for (const path of line.files) await check.inspect(path, "required");
      for (const path of line.places) await check.inspect(path, "place");
    }
    const settings = resolveSettings(OPS, options.settings);
    for (const { base } of declaredBases(options.ops ?? OPS, settings)) {
      await check.inspect(base.path, "place");
    }
    if (options.denoDir !== undefined) await check.inspect(options.denoDir, "optional");
    await check.judge();

    // `deno info` reads the entry, config and lock: only once the user could not have written
    // them. It reads the imports without running anything.
    const seen = new Set<string>();
    for (const line of lines) {
      for (const module of line.modules) {
        if (seen.has(module)) continue;
        seen.add(module);
        const inputs = [module, line.config, line.lock].flatMap((p) => p === undefined ? [] : [p]);
        if (!inputs.every((path) => check.sound(path))) {
          check.problems.add(
            `${module}: its imports are checked once the problems above are fixed`,
          );
          continue;
        }
        const graph = await moduleGraph(module, {
          denoPath: options.infoDenoPath ?? Deno.execPath(),
          config: line.config,
          lock: line.lock,
          denoDir: options.denoDir,
        }).catch((error: Error) => {
          check.fail(module, `Cannot read the imports of ${module}: ${error.message}`);
          return undefined;
        });
        for (const problem of graph?.problems ?? []) check.fail(module, problem);
        for (const path of graph?.modules ?? []) await check.inspect(path, "required");
        for (const path of graph?.packages ?? []) await check.inspect(path, "required");
      }
    }
    await check.judge();
  } catch (error) {
    check.problems.add((error as Error).message);
  }

  return result("install", "Install check", [...check.problems], [
    `${lines.length} pinned lines, ${check.entries.size} paths (Deno, modules, config, lock, ` +
    `op binaries, mount base${options.denoDir === undefined ? "" : ", Deno cache"} and every ` +
    `directory above them): none is a symlink, owned by ${who.name} (uid ${who.uid}) or ` +
    `writable by it (access check as the user)`,
  ], { user: who, sudoers, commands, paths: check.entries.size });
}
