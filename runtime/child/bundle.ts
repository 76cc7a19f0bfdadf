/**
 * Sealed bundles: `dist/child.js` (the fenced child) and `dist/listener.js` (the network-facing
 * listener), each its source entry and everything it imports (zod included) in one minified
 * file with no imports but Node built-ins. They run with `--no-npm --no-config --no-code-cache`,
 * so no Deno cache (which `--frozen` never re-verifies, and which a non-root user may own) can
 * change the code, and a service user needs to read just that one file.
 *
 * The bundles are committed. {@linkcode bundle} rebuilds one from source with its own config and
 * frozen lockfile in a cache of its own; the audit and the tests rebuild into a temporary file
 * and compare bytes, so a stale or edited bundle fails both.
 *
 * `deno task bundle` writes them; `deno task bundle --check` only compares. Needs: read and
 * write (the project, a temporary dir), env, and run for Deno itself.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BUNDLES, CHILD, type SealedBundle } from "../paths.ts";

/** Options of {@linkcode bundle}. */
export interface BundleOptions {
  /**
   * The Deno binary that bundles.
   * @default {Deno.execPath()}
   */
  readonly denoPath?: string;
  /**
   * The Deno cache the build reads packages from. A fresh one downloads them and checks them
   * against the lockfile, so a poisoned cache cannot leak into the build.
   * @default {a new temporary directory, removed afterwards}
   */
  readonly denoDir?: string;
}

/**
 * Builds a sealed bundle from source into `outPath`.
 *
 * @throws {Error} With Deno's first error line when bundling fails.
 */
export async function bundle(
  what: SealedBundle,
  outPath: string,
  options: BundleOptions = {},
): Promise<void> {
  const { denoPath = Deno.execPath() } = options;
  const fresh = options.denoDir === undefined ? await Deno.makeTempDir() : undefined;
  try {
    const output = await new Deno.Command(denoPath, {
      args: [
        "bundle",
        "--quiet",
        "--minify",
        "--frozen",
        `--config=${what.config}`,
        `--lock=${what.lock}`,
        "--output",
        outPath,
        what.source,
      ],
      // The build keeps the caller's environment (proxy, CA settings): it fetches, it is not
      // fenced. Only the cache is its own.
      env: { DENO_DIR: options.denoDir ?? fresh!, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (output.code !== 0) {
      const first = new TextDecoder().decode(output.stderr).trim().split("\n")[0];
      throw new Error(`Cannot bundle ${what.source}: ${first}`);
    }
  } finally {
    if (fresh !== undefined) await Deno.remove(fresh, { recursive: true });
  }
}

/** Builds the sealed child into `outPath` (see {@linkcode bundle}). */
export function bundleChild(outPath: string, options: BundleOptions = {}): Promise<void> {
  return bundle(CHILD, outPath, options);
}

/**
 * Why a bundle file does not match a fresh build of its source, or `undefined` when it matches
 * byte for byte.
 */
export async function bundleProblem(
  bundlePath: string = CHILD.bundle,
  options: BundleOptions & { readonly what?: SealedBundle } = {},
): Promise<string | undefined> {
  const what = options.what ?? CHILD;
  const dir = await Deno.makeTempDir();
  try {
    const fresh = `${dir}/fresh.js`;
    await bundle(what, fresh, options);
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
    return `"${bundlePath}" differs from a fresh build of ${what.source} (run: deno task bundle)`;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { check: { type: "boolean" } }, strict: true });
  let failed = false;
  for (const what of BUNDLES) {
    if (values.check) {
      const problem = await bundleProblem(what.bundle, { what });
      console.log(problem ?? `${what.bundle} matches a fresh build`);
      failed ||= problem !== undefined;
    } else {
      await bundle(what, what.bundle);
      console.log(`wrote ${what.bundle}`);
    }
  }
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
