/**
 * Check 6, the install check (sudo deployments): nothing that `sudo` runs as root may be
 * writable by the service user, or the service user could rewrite root's code. That covers the
 * op modules, the child entry, the configs and locks, the Deno binary, the Deno cache root uses,
 * and every directory above them.
 *
 * @module
 */
import { type CheckResult, result } from "./types.ts";

/** Who the service user is. */
export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gids: readonly number[];
}

/** Looks a user up with `id`. */
export async function account(name: string): Promise<Account> {
  const run = async (flag: string) => {
    const output = await new Deno.Command("id", { args: [flag, name], stderr: "piped" }).output();
    if (output.code !== 0) throw new Error(`Cannot find user "${name}"`);
    return new TextDecoder().decode(output.stdout).trim();
  };
  return { name, uid: Number(await run("-u")), gids: (await run("-G")).split(/\s+/).map(Number) };
}

/**
 * Whether the account may change a file, or replace entries in a directory, with these facts.
 * In a sticky directory (like /tmp) nobody but their owner can replace root's entries.
 */
export function writableBy(info: Deno.FileInfo, who: Account): boolean {
  const mode = info.mode ?? 0;
  if (who.uid === 0) return true;
  // A symlink's own mode means nothing; replacing it needs its directory, checked separately.
  if (info.isSymlink) return false;
  if (info.isDirectory && (mode & 0o1000) !== 0 && info.uid !== who.uid) return false;
  if (info.uid === who.uid) return (mode & 0o200) !== 0;
  if (info.gid !== null && who.gids.includes(info.gid)) return (mode & 0o020) !== 0;
  return (mode & 0o002) !== 0;
}

function ancestors(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.map((_, i) => "/" + parts.slice(0, i).join("/")).map((p) => p === "" ? "/" : p);
}

async function* walk(path: string, budget: { left: number }): AsyncGenerator<string> {
  if (budget.left-- <= 0) return;
  yield path;
  const info = await Deno.lstat(path);
  if (!info.isDirectory) return;
  for await (const entry of Deno.readDir(path)) yield* walk(`${path}/${entry.name}`, budget);
}

/**
 * Runs check 6 over `roots` (files or directories, walked) for the account.
 *
 * @param roots What root runs: install dir, Deno binary, Deno cache.
 * @param shallow Directories checked with their ancestors but not walked: the mount base, where
 * a user-made symlink would redirect root's `mount --mkdir` (its disks' files are not root's).
 */
export async function checkInstall(
  roots: readonly string[],
  who: Account,
  shallow: readonly string[] = [],
): Promise<CheckResult> {
  const problems: string[] = [];
  const budget = { left: 200_000 };
  const seen = new Set<string>();
  let checked = 0;
  const judge = async (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    checked++;
    try {
      if (writableBy(await Deno.lstat(path), who)) {
        problems.push(`${path} is writable by ${who.name}`);
      }
    } catch (error) {
      problems.push(`${path}: ${(error as Error).message}`);
    }
  };
  for (const dir of shallow) {
    for (const above of ancestors(dir)) await judge(above);
    if (await Deno.lstat(dir).then(() => true, () => false)) await judge(dir);
  }
  for (const root of roots) {
    for (const dir of ancestors(root)) await judge(dir);
    try {
      for await (const path of walk(root, budget)) await judge(path);
    } catch (error) {
      problems.push(`${root}: ${(error as Error).message}`);
    }
  }
  if (budget.left <= 0) problems.push("too many files to check (over 200000)");
  return result("install", "Install check", problems, [
    `${checked} paths, none writable by ${who.name} (uid ${who.uid})`,
  ], { roots, user: who });
}
