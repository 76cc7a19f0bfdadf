/**
 * The sealed child: `dist/child.js`, the child entry and everything it imports (zod included)
 * bundled into one minified file with no imports but Node built-ins. Children run that file
 * with `--no-npm --no-config --no-code-cache`, so no Deno cache (which `--frozen` never
 * re-verifies, and which a non-root user may own) can change the code root runs.
 *
 * The bundle is committed. {@linkcode bundleChild} rebuilds it from source with the child's own
 * config and frozen lockfile in a cache of its own; the audit and the tests rebuild it into a
 * temporary file and compare bytes, so a stale or edited bundle fails both.
 *
 * `deno task bundle` writes it; `deno task bundle --check` only compares. Needs: read and write
 * (the project, a temporary dir), env, and run for Deno itself.
 *
 * @module
 */
import { parseArgs } from "node:util";

import { CHILD_BUNDLE, CHILD_SOURCE, projectPath } from "../paths.ts";

/** Options of {@linkcode bundleChild}. */
export interface BundleOptions {
  /**
   * The Deno binary that bundles.
   * @default {Deno.execPath()}
   */
  readonly denoPath?: string;
  /**
   * The Deno cache the build reads zod from. A fresh one downloads zod and checks it against
   * `runtime/fence.lock`, so a poisoned cache cannot leak into the build.
   * @default {a new temporary directory, removed afterwards}
   */
  readonly denoDir?: string;
}

/**
 * Builds the sealed child from source into `outPath`.
 *
 * @throws {Error} With Deno's first error line when bundling fails.
 */
export async function bundleChild(outPath: string, options: BundleOptions = {}): Promise<void> {
  const { denoPath = Deno.execPath() } = options;
  const fresh = options.denoDir === undefined ? await Deno.makeTempDir() : undefined;
  try {
    const output = await new Deno.Command(denoPath, {
      args: [
        "bundle",
        "--quiet",
        "--minify",
        "--frozen",
        `--config=${projectPath("runtime/fence.json")}`,
        `--lock=${projectPath("runtime/fence.lock")}`,
        "--output",
        outPath,
        CHILD_SOURCE,
      ],
      // The build keeps the caller's environment (proxy, CA settings): it fetches, it is not
      // fenced. Only the cache is its own.
      env: { DENO_DIR: options.denoDir ?? fresh!, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (output.code !== 0) {
      const first = new TextDecoder().decode(output.stderr).trim().split("\n")[0];
      throw new Error(`Cannot bundle the child: ${first}`);
    }
  } finally {
    if (fresh !== undefined) await Deno.remove(fresh, { recursive: true });
  }
}

/**
 * Why a bundle does not match a fresh build of the source, or `undefined` when it matches byte
 * for byte.
 */
export async function bundleProblem(
  bundlePath: string = CHILD_BUNDLE,
  options: BundleOptions = {},
): Promise<string | undefined> {
  const dir = await Deno.makeTempDir();
  try {
    const fresh = `${dir}/child.js`;
    await bundleChild(fresh, options);
    let shipped: Uint8Array;
    try {
      shipped = await Deno.readFile(bundlePath);
    } catch (error) {
      return `Cannot read "${bundlePath}": ${(error as Error).message}`;
    }
    const built = await Deno.readFile(fresh);
    if (shipped.length === built.length && shipped.every((b, i) => b === built[i])) {
      return undefined;
    }
    return `"${bundlePath}" differs from a fresh build of ${CHILD_SOURCE} ` +
      "(run: deno task bundle)";
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { check: { type: "boolean" } }, strict: true });
  if (values.check) {
    const problem = await bundleProblem();
    console.log(problem ?? `${CHILD_BUNDLE} matches a fresh build`);
    return problem === undefined ? 0 : 1;
  }
  await bundleChild(CHILD_BUNDLE);
  console.log(`wrote ${CHILD_BUNDLE}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
