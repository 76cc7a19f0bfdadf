/**
 * Where the system tools the install check runs are, as absolute paths (never looked up on a
 * PATH the caller controls).
 *
 * @module
 */

/** `setpriv` (util-linux), `find` (findutils) and `id` (coreutils). */
const TOOLS = {
  setpriv: ["/usr/bin/setpriv", "/bin/setpriv"],
  find: ["/usr/bin/find", "/bin/find"],
  id: ["/usr/bin/id", "/bin/id"],
} as const;

/**
 * Finds a system tool. Needs read permission for its directory.
 *
 * @throws {Error} When it is not installed.
 */
export async function systemTool(name: keyof typeof TOOLS): Promise<string> {
  for (const path of TOOLS[name]) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // try the next place
    }
  }
  throw new Error(`Cannot check access as the user: "${name}" is not installed`);
}
