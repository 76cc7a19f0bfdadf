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

/** The sealed child every fenced child runs (see `runtime/child/bundle.ts`). */
export const CHILD_BUNDLE: string = projectPath("dist/child.js");

/** The source entry the sealed child is built from. */
export const CHILD_SOURCE: string = projectPath("runtime/child/mod.ts");
