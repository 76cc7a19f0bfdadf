/**
 * Check 8, the sealed child: the code every fenced child runs is `dist/child.js`, one file with
 * no imports but Node built-ins, byte for byte what a fresh build of the source gives, owned by
 * root and writable by nobody else, in directories writable by nobody else. `--frozen` never
 * re-checks a Deno cache, so the child must not load from one at all (the flags check proves
 * that it runs with `--no-npm --no-config --no-code-cache` and an impossible `DENO_DIR`).
 *
 * @module
 */
import { type BundleOptions, bundleProblem } from "../child/bundle.ts";
import { type CheckResult, result } from "./types.ts";

/** Specifiers a bundle imports, found the way the minifier writes them. */
export function bundleImports(code: string): string[] {
  const found = code.matchAll(
    /\bfrom ?"([^"]*)"|\bimport ?\( ?"([^"]*)"|\brequire ?\( ?"([^"]*)"/g,
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
 * Runs check 8 on a bundle.
 *
 * @param bundlePath The file the children run.
 * @param options How the fresh build is made (a temporary Deno cache by default).
 */
export async function checkSealed(
  bundlePath: string,
  options: BundleOptions = {},
): Promise<CheckResult> {
  const problems: string[] = [];
  let code = "";
  try {
    code = await Deno.readTextFile(bundlePath);
  } catch (error) {
    problems.push(`Cannot read "${bundlePath}": ${(error as Error).message}`);
  }
  const imports = bundleImports(code).filter((s) => !s.startsWith("node:"));
  if (imports.length > 0) problems.push(`the bundle imports ${imports.join(", ")}`);
  try {
    const stale = await bundleProblem(bundlePath, options);
    if (stale !== undefined) problems.push(stale);
  } catch (error) {
    problems.push((error as Error).message);
  }
  problems.push(...await rootOwnedProblems(bundlePath));
  return result("sealed-child", "Sealed child", problems, [
    `${bundlePath} has no imports but node: built-ins`,
    "it is byte for byte a fresh build of runtime/child/mod.ts (zod checked against fence.lock)",
    "it and every directory above it are root's and writable by nobody else",
  ], { bundle: bundlePath, bytes: code.length });
}
