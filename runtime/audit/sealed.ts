/**
 * The sealed-code check: the code every fenced child runs is `dist/child.js` (and the listener's
 * `dist/listener.js`), one file with no imports but Node built-ins, byte for byte what a fresh
 * build of the source gives, owned by root and writable by nobody else, in directories writable
 * by nobody else. `--frozen` never re-checks a Deno cache, so these must not load from one at
 * all (the flags check proves `--no-npm --no-config --no-code-cache` and an impossible
 * `DENO_DIR`).
 *
 * @module
 */
import { type BundleOptions, bundleProblem } from "../child/bundle.ts";
import type { SealedBundle } from "../paths.ts";
import { type CheckResult, result } from "./types.ts";

/**
 * Specifiers a bundle imports (`from "x"`, a bare `import "x"`, `import("x")`, `require("x")`),
 * in either quote. A computed `import(name)` cannot be named here; the bundle has none because
 * the child's graph has none (the import-graph check), and `--no-npm --no-remote` refuse one.
 */
export function bundleImports(code: string): string[] {
  const found = code.matchAll(
    /\bfrom ?["']([^"']*)["']|\bimport ?\(? ?["']([^"']*)["']|\brequire ?\( ?["']([^"']*)["']/g,
  );
  return [...found].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

/** Why a path or one of its directories could be changed by someone other than root. */
export async function rootOwnedProblems(path: string): Promise<string[]> {
  const problems: string[] = [];
  const parts = path.split("/").filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const at = "/" + parts.slice(0, i).join("/");
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(at);
    } catch (error) {
      problems.push(`${at}: ${(error as Error).message}`);
      break;
    }
    const mode = info.mode ?? 0;
    const sticky = info.isDirectory && (mode & 0o1000) !== 0;
    if (info.isSymlink) problems.push(`${at} is a symlink`);
    else if (info.uid !== 0) problems.push(`${at} is owned by uid ${info.uid}, not root`);
    else if ((mode & 0o022) !== 0 && !(sticky && i < parts.length)) {
      problems.push(`${at} is writable by group or others (mode ${mode.toString(8)})`);
    }
  }
  return problems;
}

/**
 * Runs the sealed-code check on bundles: the child (root runs it) and the listener (it faces
 * the network, and a service user must be able to read it and nothing else).
 *
 * @param bundles Each bundle and the file under audit (tests pass a broken copy).
 * @param options How the fresh builds are made (a temporary Deno cache by default).
 */
export async function checkSealed(
  bundles: readonly { readonly what: SealedBundle; readonly path: string }[],
  options: BundleOptions = {},
): Promise<CheckResult> {
  const problems: string[] = [];
  const sizes: Record<string, number> = {};
  for (const { what, path } of bundles) {
    let code = "";
    try {
      code = await Deno.readTextFile(path);
    } catch (error) {
      problems.push(`Cannot read "${path}": ${(error as Error).message}`);
    }
    sizes[path] = code.length;
    const imports = bundleImports(code).filter((s) => !s.startsWith("node:"));
    if (imports.length > 0) problems.push(`${path} imports ${imports.join(", ")}`);
    try {
      const stale = await bundleProblem(path, { ...options, what });
      if (stale !== undefined) problems.push(stale);
    } catch (error) {
      problems.push((error as Error).message);
    }
    problems.push(...await rootOwnedProblems(path));
  }
  const names = bundles.map((b) => b.path).join(", ");
  return result("sealed-code", "Sealed code", problems, [
    `${names}: no imports but node: built-ins`,
    "each is byte for byte a fresh build of its source (packages checked against the lockfile)",
    "each, and every directory above it, is root's and writable by nobody else",
  ], { bytes: sizes });
}
