/**
 * Where things are on this host, found at run time for the entries that start or describe other
 * processes (the starter, the launcher, the generators, the audit): the Deno cache this process
 * uses, the first of several candidate paths that exists, and the `kill` binary. The project's
 * own files are in `paths.ts`.
 *
 * Needs: env for {@linkcode defaultDenoDir}, read for the others.
 *
 * @module
 */
import { KILL_CANDIDATES } from "../defaults.ts";

/**
 * The Deno cache this process uses: `$DENO_DIR`, else the XDG or home default. Needs env.
 *
 * @returns The directory, or `undefined` when none of the variables is set.
 * @example
 * ```ts
 * import { defaultDenoDir } from "./host_paths.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof (defaultDenoDir() ?? ""), "string");
 * ```
 */
export function defaultDenoDir(): string | undefined {
  const explicit = Deno.env.get("DENO_DIR");
  if (explicit) return explicit;
  const cache = Deno.env.get("XDG_CACHE_HOME");
  if (cache) return `${cache}/deno`;
  const home = Deno.env.get("HOME");
  return home ? `${home}/.cache/deno` : undefined;
}

/**
 * The canonical path of the first of `paths` that exists. Needs read.
 *
 * @param paths Candidates, in order.
 * @returns Its canonical path, or `undefined` when none exists.
 * @example
 * ```ts
 * import { firstExisting } from "./host_paths.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await firstExisting(["/nonexistent/rootfence", "/"]), "/");
 * ```
 */
export async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      return await Deno.realPath(path);
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/**
 * The canonical path of the `kill` binary that ends a child's process group: the first of
 * {@linkcode KILL_CANDIDATES} that exists. Needs read.
 *
 * @returns The path, or `undefined` on a host without one.
 * @example
 * ```ts
 * import { findKill } from "./host_paths.ts";
 * import assert from "node:assert/strict";
 * const kill = await findKill();
 * assert.ok(kill === undefined || kill.startsWith("/"));
 * ```
 */
export function findKill(): Promise<string | undefined> {
  return firstExisting(KILL_CANDIDATES);
}
