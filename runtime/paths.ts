/**
 * Where the project's own files are, as absolute paths, for every entry that starts or audits
 * another process. Pure: it only resolves URLs of this module.
 *
 * @module
 */

/** The absolute path of a file relative to the project root. */
export function projectPath(relative: string): string {
  return decodeURIComponent(new URL(`../${relative}`, import.meta.url).pathname);
}

/** A sealed bundle: one file built from a source entry with its own config and lockfile. */
export interface SealedBundle {
  /** The committed file processes run. */
  readonly bundle: string;
  /** The source entry it is built from. */
  readonly source: string;
  readonly config: string;
  readonly lock: string;
}

/** The fenced child (zod only: `runtime/process/fence.json`). */
export const CHILD: SealedBundle = {
  bundle: projectPath("dist/child.js"),
  source: projectPath("runtime/child/mod.ts"),
  config: projectPath("runtime/process/fence.json"),
  lock: projectPath("runtime/process/fence.lock"),
};

/** The network-facing listener. */
export const LISTENER: SealedBundle = {
  bundle: projectPath("dist/listener.js"),
  source: projectPath("runtime/server/listener.ts"),
  config: projectPath("deno.json"),
  lock: projectPath("deno.lock"),
};

/** Every sealed bundle the project ships. */
export const BUNDLES: readonly SealedBundle[] = [CHILD, LISTENER];

/** The sealed child every fenced child runs. */
export const CHILD_BUNDLE: string = CHILD.bundle;

/** The source entry the sealed child is built from. */
export const CHILD_SOURCE: string = CHILD.source;
