/**
 * Whether the receiver's state may be trusted before it is touched: the state dir, the keys
 * file, every secret file and the journal files must belong to the user rootfence runs as, be
 * writable by nobody else, and never be symlinks; so must every directory above them (a sticky
 * directory such as `/tmp` is fine, since others cannot rename what rootfence's user owns inside
 * it). A symlink matters because Deno checks a path against `--allow-write`, not the symlink's
 * target: a `journal.db` planted in a writable state dir would make the receiver write anywhere.
 *
 * Needs read permission for every path checked (`lstat`), and for every directory above them
 * unless `ancestors` is false; `--allow-sys=uid` only where the caller reads `Deno.uid()`.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { RootfenceError } from "../errors.ts";

/** The journal's files, relative to the state dir (`-journal` appears only before WAL mode). */
export const JOURNAL_FILES = [
  "journal.db",
  "journal.db-wal",
  "journal.db-shm",
  "journal.db-journal",
] as const;

/** What an entry is, for messages and for the rules that apply to it. */
export type StateEntry = "state dir" | "keys file" | "secret file" | "journal file";

/** How to fix a symlink, per entry. */
const INSTEAD_OF_SYMLINK: Record<StateEntry, string> = {
  "state dir": "point --state-dir at the real directory",
  "keys file": "point --keys-file at the real file",
  "secret file": "list the real file in secretFiles",
  "journal file": "remove it",
};

function octal(mode: number): string {
  return (mode & 0o7777).toString(8);
}

/**
 * The one-line problem with one state entry, from its `lstat` information, or `undefined` when
 * it may be trusted: it is not a symlink, it is of the right type, `uid` owns it, and nobody else
 * may write it (nor read it, for the keys and secret files). Journal files may be loose: the
 * journal narrows them to 0600 when it opens them. Pure.
 *
 * @param path The entry, for the message.
 * @param entry What it is.
 * @param info Its `Deno.lstat` information.
 * @param uid The user rootfence runs as.
 * @returns The problem, naming what to fix, or `undefined`.
 * @example
 * ```ts
 * import { entryProblem } from "./state_trust.ts";
 * import assert from "node:assert/strict";
 * const info = { isFile: true, isDirectory: false, isSymlink: false, uid: 0, mode: 0o100644 };
 * assert.match(
 *   entryProblem("/etc/rootfence/keys.json", "keys file", info as Deno.FileInfo, 0)!,
 *   /chmod 600/,
 * );
 * ```
 */
export function entryProblem(
  path: string,
  entry: StateEntry,
  info: Deno.FileInfo,
  uid: number,
): string | undefined {
  const cannot = `Cannot trust ${entry} "${path}"`;
  if (info.isSymlink) return `${cannot}: it is a symlink; ${INSTEAD_OF_SYMLINK[entry]}`;
  const directory = entry === "state dir";
  if (directory ? !info.isDirectory : !info.isFile) {
    return `${cannot}: it is not a ${directory ? "directory" : "regular file"}`;
  }
  if (info.uid !== uid) {
    return `${cannot}: it is owned by uid ${info.uid}, not by uid ${uid} that rootfence runs ` +
      `as; chown ${uid} "${path}"`;
  }
  const mode = info.mode ?? 0;
  if (directory && (mode & 0o022) !== 0) {
    return `${cannot}: mode ${octal(mode)} lets group or others write it; chmod 700 "${path}"`;
  }
  if ((entry === "keys file" || entry === "secret file") && (mode & 0o066) !== 0) {
    return `${cannot}: mode ${octal(mode)} lets group or others read or write it; ` +
      `chmod 600 "${path}"`;
  }
  return undefined;
}

/** Every proper ancestor of an absolute path, from `/` down. */
function ancestorsOf(path: string): string[] {
  const chain: string[] = [];
  for (let dir = dirname(path);; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dir === dirname(dir)) return chain;
  }
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * The directories a lookup of `path` passes through: its literal ancestors and, where one of
 * them is a symlink, the real directories it leads to.
 */
/** The directories above a path, from `/` down. */
export async function directoriesAbove(path: string): Promise<string[]> {
  const literal = ancestorsOf(path);
  let deepest: string | undefined;
  for (const dir of literal) {
    if (await lstatOrUndefined(dir) === undefined) break;
    deepest = dir;
  }
  if (deepest === undefined) return literal;
  const real = await Deno.realPath(deepest);
  return [...new Set([...literal, ...ancestorsOf(real), real])];
}

/**
 * Why a directory above trusted files could let someone else replace them, if it could; `what`
 * names those files in the message (default: the state files).
 */
export function ancestorProblem(
  dir: string,
  info: Deno.FileInfo,
  uid: number,
  what = "the state files",
): string | undefined {
  const cannot = `Cannot trust directory "${dir}" above ${what}`;
  if (info.isSymlink) return undefined; // its target is checked in its place
  if (!info.isDirectory) return `${cannot}: it is not a directory`;
  if (info.uid !== 0 && info.uid !== uid) {
    return `${cannot}: it is owned by uid ${info.uid}, neither root nor uid ${uid}; ` +
      `chown root "${dir}" or move the state files`;
  }
  const mode = info.mode ?? 0;
  // Sticky: others may add entries but not rename or remove ours, and every entry below is
  // itself checked to be ours or root's.
  if ((mode & 0o022) !== 0 && (mode & 0o1000) === 0) {
    return `${cannot}: mode ${octal(mode)} lets group or others replace what is inside; ` +
      `chmod go-w "${dir}"`;
  }
  return undefined;
}

/** Options of {@linkcode stateTrustProblems} and {@linkcode assertStateTrusted}. */
export interface StateTrustOptions {
  /** The state dir; may not exist yet (the starter creates it). */
  readonly stateDir: string;
  /** The keys file; may not exist yet (the starter creates it). */
  readonly keysFile: string;
  /**
   * The secret files the keys file names.
   *
   * @default {[]}
   */
  readonly secretFiles?: readonly string[];
  /** The user rootfence runs as (`Deno.uid()`). */
  readonly uid: number;
  /**
   * Also check every directory above them. A fenced process that may read only its state
   * cannot, so it passes `false` and relies on its starter (or the operator) for those.
   *
   * @default {true}
   */
  readonly ancestors?: boolean;
}

/**
 * Lists, one line each, why the state may not be trusted: see the module comment for the
 * rules. Missing entries are not problems (the starter creates the state dir and the first
 * keys file), but the directories above them are still checked.
 *
 * @param options The paths, the running user, and whether to check the directories above.
 * @returns The problems, each naming what to fix; empty when everything may be trusted.
 * @throws {Deno.errors.NotCapable} Without read permission for a path it checks.
 * @example
 * ```ts
 * import { stateTrustProblems } from "./state_trust.ts";
 * import assert from "node:assert/strict";
 * const stateDir = await Deno.makeTempDir();
 * const uid = Deno.uid()!;
 * assert.deepEqual(await stateTrustProblems({ stateDir, keysFile: `${stateDir}/keys.json`, uid }), []);
 * await Deno.chmod(stateDir, 0o777);
 * const [problem] = await stateTrustProblems({ stateDir, keysFile: `${stateDir}/keys.json`, uid });
 * assert.match(problem!, /chmod 700/);
 * await Deno.remove(stateDir);
 * ```
 */
export async function stateTrustProblems(options: StateTrustOptions): Promise<string[]> {
  const { uid, secretFiles = [], ancestors = true } = options;
  const stateDir = resolve(options.stateDir);
  const entries: [string, StateEntry][] = [
    [stateDir, "state dir"],
    ...JOURNAL_FILES.map((name): [string, StateEntry] => [`${stateDir}/${name}`, "journal file"]),
    [resolve(options.keysFile), "keys file"],
    ...secretFiles.map((file): [string, StateEntry] => [resolve(file), "secret file"]),
  ];
  const problems = new Set<string>();
  if (ancestors) {
    const above = new Set<string>();
    for (const [path] of entries) {
      for (const dir of await directoriesAbove(path)) above.add(dir);
    }
    above.delete(stateDir); // checked as the state dir itself, by its stricter rule
    for (const dir of [...above].sort()) {
      const info = await lstatOrUndefined(dir);
      const problem = info === undefined ? undefined : ancestorProblem(dir, info, uid);
      if (problem !== undefined) problems.add(problem);
    }
  }
  for (const [path, entry] of entries) {
    const info = await lstatOrUndefined(path);
    const problem = info === undefined ? undefined : entryProblem(path, entry, info, uid);
    if (problem !== undefined) problems.add(problem);
  }
  return [...problems];
}

/**
 * Refuses to go on with untrusted state: call it before touching the state dir.
 *
 * @param options As for {@linkcode stateTrustProblems}.
 * @throws {RootfenceError} `denied`, with the first problem as its one-line message and all of
 * them in `detail.problems`.
 * @example
 * ```ts
 * import { assertStateTrusted } from "./state_trust.ts";
 * import { RootfenceError } from "../errors.ts";
 * import assert from "node:assert/strict";
 * const stateDir = await Deno.makeTempDir();
 * await Deno.symlink("/etc/passwd", `${stateDir}/journal.db`);
 * await assert.rejects(
 *   assertStateTrusted({ stateDir, keysFile: `${stateDir}/keys.json`, uid: Deno.uid()! }),
 *   (error) => error instanceof RootfenceError && /journal.db.*symlink/.test(error.message),
 * );
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 */
export async function assertStateTrusted(options: StateTrustOptions): Promise<void> {
  const problems = await stateTrustProblems(options);
  if (problems.length > 0) {
    throw new RootfenceError("denied", problems[0]!, { problems });
  }
}
