/**
 * Asks the kernel, as the service user, which paths that user may write. Mode bits miss POSIX
 * ACLs, supplementary groups and the like; `access(2)` performed as the user does not. One
 * shell-free `setpriv ... find <paths> -maxdepth 0 -writable` per few thousand paths: `find`'s
 * `-writable` is that access check.
 *
 * Needs: root (to become the user), run (`setpriv`, `find`).
 *
 * @module
 */
import type { Account } from "./account.ts";
import { systemTool } from "./_system_tool.ts";

/** Paths per `find` run, well below the kernel's argument limit. */
const BATCH = 2000;

const decoder = new TextDecoder();

/**
 * Returns the paths the account may write, decided by the kernel for a process running as the
 * account with its real groups (`setpriv --reuid --regid --init-groups`). A path the account
 * cannot even reach counts as not writable.
 *
 * @param who The account, from `account()`.
 * @param paths Absolute paths (a leading `/` keeps `find` from reading one as an expression).
 * @returns The subset of `paths` the account may write.
 * @throws {RangeError} For a relative path.
 * @throws {Error} When the check cannot run: not root, a tool missing, an unexpected error.
 * @example
 * ```ts ignore
 * const who = await account("rootfence");
 * const open = await writableAs(who, ["/opt/rootfence/dist/child.js", "/opt/rootfence"]);
 * ```
 */
export async function writableAs(who: Account, paths: readonly string[]): Promise<Set<string>> {
  for (const path of paths) {
    if (!path.startsWith("/")) throw new RangeError(`Cannot check "${path}": not absolute`);
  }
  if (paths.length === 0) return new Set();
  const [setpriv, find] = [await systemTool("setpriv"), await systemTool("find")];
  const writable = new Set<string>();
  for (let at = 0; at < paths.length; at += BATCH) {
    const output = await new Deno.Command(setpriv, {
      args: [
        `--reuid=${who.uid}`,
        `--regid=${who.gid}`,
        "--init-groups",
        "--",
        find,
        ...paths.slice(at, at + BATCH),
        "-maxdepth",
        "0",
        "-writable",
        "-print0",
      ],
      cwd: "/",
      clearEnv: true,
      env: { LC_ALL: "C", PATH: "/usr/bin:/bin" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    for (const path of decoder.decode(output.stdout).split("\0")) {
      if (path !== "") writable.add(path);
    }
    // `find` exits 1 for paths the user cannot reach; anything else means no answer.
    const unexpected = decoder.decode(output.stderr).split("\n")
      .filter((line) => line !== "" && !/: Permission denied$/.test(line));
    if (output.code !== 0 && (unexpected.length > 0 || output.code !== 1)) {
      throw new Error(
        `Cannot check access as ${who.name}: ${unexpected[0] ?? `exit ${output.code}`}`,
      );
    }
  }
  return writable;
}
