/**
 * The files a module entry loads, from `deno info --json`: its local modules and the npm
 * packages they import. A bundle simply lists itself. The graph is read, never run, and never
 * with the Deno binary under audit.
 *
 * Needs: run (Deno), read (the modules, the Deno cache).
 *
 * @module
 */

/** How to read one entry's graph. */
export interface ModuleGraphOptions {
  /** The Deno that reads the graph: the audit's own, never the pinned one. */
  readonly denoPath: string;
  /** The pinned `--config`, which decides how imports resolve. */
  readonly config: string | undefined;
  /** The pinned `--lock`: checked, never written. */
  readonly lock: string | undefined;
  /** The Deno cache the root child uses, where its npm packages are. */
  readonly denoDir: string | undefined;
}

/** What one entry loads. */
export interface ModuleGraph {
  /** Every local module, the entry included, as the child names it (symlinks not followed). */
  readonly modules: readonly string[];
  /** The directory of every npm package the graph reaches. */
  readonly packages: readonly string[];
  /** Modules that failed to resolve or load. */
  readonly problems: readonly string[];
}

interface Info {
  modules: { specifier: string; local?: string; error?: string }[];
  npmPackages?: Record<string, { localPath?: string }>;
}

/**
 * Reads an entry's module graph.
 *
 * @throws {Error} When `deno info` fails (its first line of stderr).
 */
export async function moduleGraph(
  entry: string,
  options: ModuleGraphOptions,
): Promise<ModuleGraph> {
  const args = [
    "info",
    "--json",
    "--no-remote",
    options.config === undefined ? "--no-config" : `--config=${options.config}`,
    ...options.lock === undefined ? ["--no-lock"] : [`--lock=${options.lock}`, "--frozen-lockfile"],
    entry,
  ];
  const output = await new Deno.Command(options.denoPath, {
    args,
    cwd: "/",
    env: {
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      ...options.denoDir === undefined ? {} : { DENO_DIR: options.denoDir },
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (output.code !== 0) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(stderr.split("\n").find((line) => line.trim() !== "") ?? `exit ${output.code}`);
  }
  const info: Info = JSON.parse(new TextDecoder().decode(output.stdout));
  const modules: string[] = [];
  const problems: string[] = [];
  for (const module of info.modules) {
    if (module.error !== undefined) problems.push(`${module.specifier}: ${module.error}`);
    else if (module.local !== undefined) modules.push(module.local);
  }
  const packages = Object.values(info.npmPackages ?? {}).flatMap((p) =>
    p.localPath === undefined ? [] : [p.localPath]
  );
  return { modules, packages, problems };
}
