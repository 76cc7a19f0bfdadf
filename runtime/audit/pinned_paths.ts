/**
 * Which paths one pinned command line makes root load or execute, read from the line itself:
 * the program, every absolute path argument and every path in a `--flag=<value>` (comma and
 * colon lists, `--bin=<name>=<path>`), the entry module, the config and the lock. Pure.
 *
 * @module
 */
import { OPS } from "../../ops/mod.ts";
import { settingFlags } from "../settings.ts";

/** What one command line depends on. */
export interface PinnedPaths {
  /** `argv[0]`: the program sudo runs (the Deno binary). */
  readonly program: string;
  /** The module `deno run` starts, when the line is one. */
  readonly entry: string | undefined;
  /** `--config`, when given: it decides how the entry's imports resolve. */
  readonly config: string | undefined;
  /** `--lock`, when given. */
  readonly lock: string | undefined;
  /** Modules the line names (the entry and any other module path): their imports load too. */
  readonly modules: readonly string[];
  /** Every path loaded or executed: program, modules, config, lock, run grants, op binaries. */
  readonly files: readonly string[];
  /**
   * Where the child reads, writes or mounts (`--allow-read`, `--allow-write`, and the ops'
   * settings such as `--mount-base`): what lies below them is data (mounted disks), and they may
   * not exist yet.
   */
  readonly places: readonly string[];
  /** Arguments that name a path this check cannot place (relative, not normalised, a URL). */
  readonly problems: readonly string[];
}

/** Deno flags whose value may come as the next argument instead of after `=`. */
const SEPARATE_VALUE = new Set([
  "-c",
  "--config",
  "--import-map",
  "--cert",
  "--location",
  "--seed",
]);
const MODULE = /\.(ts|mts|cts|tsx|js|mjs|cjs|jsx)$/;
/** Flags whose paths are places the child works in, not code it loads: a setting is data. */
const PLACES = new Set([
  ...settingFlags(OPS).map((f) => `--${f.flag}`),
  "--allow-read",
  "--allow-write",
]);

function normalised(path: string): boolean {
  return path === "/" ||
    (!path.endsWith("/") &&
      path.split("/").slice(1).every((part) => part !== "" && part !== "." && part !== ".."));
}

/** The paths in one argument or flag value: comma lists, `name=<path>`, colon lists. */
function pathsIn(value: string): { paths: string[]; unplaced: boolean } {
  const paths: string[] = [];
  let unplaced = false;
  for (const piece of value.split(",")) {
    const candidate = piece.startsWith("/") || !piece.includes("=")
      ? piece
      : piece.slice(piece.indexOf("=") + 1);
    if (candidate.startsWith("/")) {
      const parts = candidate.split(":");
      if (parts.length > 1 && parts.every((part) => part.startsWith("/"))) paths.push(...parts);
      else paths.push(candidate);
    } else if (candidate.includes("/")) unplaced = true;
  }
  return { paths, unplaced };
}

/**
 * Lists what a pinned command line loads or executes.
 *
 * @param argv The line as sudo runs it: `[deno, "run", ...flags, entry, ...args]`.
 * @returns The paths by role, and the arguments that could not be placed.
 * @throws {RangeError} When `argv` is empty.
 * @example
 * ```ts
 * import { pinnedPaths } from "./pinned_paths.ts";
 * import assert from "node:assert/strict";
 * const found = pinnedPaths([
 *   "/usr/bin/deno", "run", "--config=/opt/rf/fence.json", "--allow-run=/usr/sbin/smartctl",
 *   "/opt/rf/dist/child.js", "--op=smart", "--bin=smartctl=/usr/sbin/smartctl",
 *   "--mount-base=/mnt/usb",
 * ]);
 * assert.equal(found.entry, "/opt/rf/dist/child.js");
 * assert.deepEqual(found.files, [
 *   "/usr/bin/deno", "/opt/rf/fence.json", "/usr/sbin/smartctl", "/opt/rf/dist/child.js",
 * ]);
 * assert.deepEqual(found.places, ["/mnt/usb"]);
 * ```
 */
export function pinnedPaths(argv: readonly string[]): PinnedPaths {
  const [program, ...args] = argv;
  if (program === undefined) throw new RangeError("Cannot read an empty command line");
  const files = new Set<string>();
  const places = new Set<string>();
  const problems: string[] = [];
  let entry: string | undefined;
  let config: string | undefined;
  let lock: string | undefined;
  const add = (arg: string, value: string, flag: string | undefined) => {
    const { paths, unplaced } = pathsIn(value);
    if (unplaced) {
      problems.push(`"${arg}" names a relative path or a URL, which this check cannot place`);
    }
    for (const path of paths) {
      if (!normalised(path)) {
        problems.push(`"${arg}" names "${path}", which is not a normalised absolute path`);
      } else if (flag !== undefined && PLACES.has(flag)) places.add(path);
      else files.add(path);
    }
    if (flag === "--config" || flag === "-c") config = paths[0];
    if (flag === "--lock") lock = paths[0];
  };
  add(program, program, undefined);
  let options = args[0] === "run";
  for (let i = options ? 1 : 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith("-")) {
      const at = arg.indexOf("=");
      const flag = at === -1 ? arg : arg.slice(0, at);
      if (at !== -1) add(arg, arg.slice(at + 1), flag);
      else if (options && SEPARATE_VALUE.has(flag) && i + 1 < args.length) {
        add(`${arg} ${args[i + 1]}`, args[++i]!, flag);
      }
    } else {
      if (options) entry = arg;
      options = false;
      add(arg, arg, undefined);
    }
  }
  const modules = [...files].filter((path) =>
    (path === entry || MODULE.test(path)) && path !== config && path !== lock
  );
  return {
    program,
    entry,
    config,
    lock,
    modules,
    files: [...files].filter((path) => !places.has(path)),
    places: [...places],
    problems,
  };
}
