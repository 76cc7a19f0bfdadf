/**
 * Check 3, the import graph, from `deno info --json`: the child loads only project modules and
 * zod (nothing of the receiver, no computed dynamic import, no I/O in `ops/`), and in the
 * receiver's graph only the launcher spawns processes. The Go original's routing test, enforced
 * on the module graph.
 *
 * @module
 */
import { type CheckResult, result } from "./types.ts";

/** What check 3 looks at. */
export interface GraphSources {
  readonly projectRoot: string;
  readonly denoPath: string;
  /** The child's entry and its own config (zod only). */
  readonly childEntry: string;
  readonly childConfig: string;
  readonly receiverEntry: string;
  readonly receiverConfig: string;
  /** The listener's source entry (same config as the receiver). */
  readonly listenerEntry: string;
  /** Project-relative modules that may spawn processes in the receiver's graph. */
  readonly spawners: readonly string[];
}

/**
 * Project modules the listener may load: its arguments' codec, HTTP in (its TLS pair and its
 * Unix socket's stale file), one bridge line out, the problem table for its own answers,
 * nothing else.
 */
export const LISTENER_MODULES: readonly string[] = [
  "runtime/server/listener.ts",
  "runtime/server/listener_args.ts",
  "runtime/process/flag_codec.ts",
  "runtime/args.ts",
  "runtime/server/guarded_http.ts",
  "runtime/server/tls_pair.ts",
  "runtime/server/listen_socket.ts",
  "runtime/server/bridge.ts",
  "runtime/server/bridge_connections.ts",
  "runtime/server/problems.ts",
  "runtime/process/lines.ts",
  "runtime/process/chunks.ts",
  "runtime/process/capped_read.ts",
];

/** npm packages a child may load. */
export const CHILD_PACKAGES: readonly string[] = ["zod"];
/** Node built-ins a child may load (the argument parser). */
export const CHILD_BUILTINS: readonly string[] = ["node:util"];

interface InfoModule {
  kind?: string;
  specifier: string;
  npmPackage?: string;
  local?: string;
  error?: string;
  dependencies?: { specifier: string; code?: { error?: string } }[];
}

interface Info {
  modules: InfoModule[];
  npmPackages: Record<string, { name: string; dependencies: string[] }>;
}

async function info(sources: GraphSources, entry: string, config: string): Promise<Info> {
  const output = await new Deno.Command(sources.denoPath, {
    args: ["info", "--json", "--no-lock", `--config=${config}`, entry],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (output.code !== 0) {
    throw new Error(new TextDecoder().decode(output.stderr).trim().split("\n")[0]);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** npm packages reached from the graph's npm modules, with their dependencies. */
function reachedPackages(graph: Info): string[] {
  const seen = new Set<string>();
  const todo = graph.modules.flatMap((m) => m.npmPackage ? [m.npmPackage] : []);
  while (todo.length) {
    const id = todo.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    todo.push(...graph.npmPackages[id]?.dependencies ?? []);
  }
  return [...seen].map((id) => graph.npmPackages[id]?.name ?? id.replace(/@[^@]*$/, ""));
}

/** Where a source text imports a module whose name is computed at run time. */
export function computedImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/\bimport\s*\(/g)) {
    const rest = source.slice(match.index! + match[0].length);
    if (!/^\s*(["'])[^"'\n]*\1\s*[,)]/.test(rest) && !/^\s*`[^`$]*`\s*[,)]/.test(rest)) {
      const line = source.slice(0, match.index).split("\n").length;
      found.push(`line ${line}`);
    }
  }
  return found;
}

const SPAWN =
  /\bnew\s+Deno\.Command\b|\bDeno\.Command\s*\(|\bDeno\.run\s*\(|\bDeno\.kill\s*\(|node:child_process/;

/** Runs check 3. */
export async function checkGraph(sources: GraphSources): Promise<CheckResult> {
  const problems: string[] = [];
  const verified: string[] = [];
  const root = `file://${sources.projectRoot}/`;
  const rel = (specifier: string) => specifier.replace(root, "");
  let child: Info;
  let receiver: Info;
  let listener: Info;
  try {
    child = await info(sources, sources.childEntry, sources.childConfig);
    receiver = await info(sources, sources.receiverEntry, sources.receiverConfig);
    listener = await info(sources, sources.listenerEntry, sources.receiverConfig);
  } catch (error) {
    return result("import-graph", "Import graph", [
      `deno info failed: ${(error as Error).message}`,
    ], []);
  }
  for (const [side, graph] of [["child", child], ["receiver", receiver]] as const) {
    for (const m of graph.modules) {
      if (m.error !== undefined) problems.push(`${side} cannot load ${m.specifier}: ${m.error}`);
      for (const dep of m.dependencies ?? []) {
        if (dep.code?.error !== undefined) {
          problems.push(
            `${side} import "${dep.specifier}" in ${rel(m.specifier)} is outside its config: ` +
              dep.code.error,
          );
        }
      }
    }
  }
  const childModules: string[] = [];
  for (const m of child.modules) {
    if (m.kind === "esm") {
      if (!m.specifier.startsWith(root)) {
        problems.push(`child loads a non-project module ${m.specifier}`);
      } else if (rel(m.specifier).startsWith("runtime/server/")) {
        problems.push(`child loads receiver code ${rel(m.specifier)}`);
      }
      childModules.push(rel(m.specifier));
    } else if (m.kind === "node" && !CHILD_BUILTINS.includes(m.specifier)) {
      problems.push(`child loads the built-in ${m.specifier}`);
    }
  }
  for (const name of reachedPackages(child)) {
    if (!CHILD_PACKAGES.includes(name)) problems.push(`child loads the npm package ${name}`);
  }
  for (const m of child.modules.filter((m) => m.kind === "esm" && m.local)) {
    const source = await Deno.readTextFile(m.local!);
    for (const where of computedImports(source)) {
      problems.push(`computed dynamic import in ${rel(m.specifier)} at ${where}`);
    }
    if (rel(m.specifier).startsWith("ops/") && /\bDeno\./.test(source)) {
      problems.push(`${rel(m.specifier)} does I/O (uses Deno.*); ops/ must stay pure`);
    }
  }
  verified.push(
    `child graph: ${childModules.length} project modules, npm ${reachedPackages(child).join(", ")}`,
  );
  const spawning: string[] = [];
  for (const m of receiver.modules.filter((m) => m.kind === "esm" && m.local)) {
    if (SPAWN.test(await Deno.readTextFile(m.local!))) spawning.push(rel(m.specifier));
  }
  for (const module of spawning) {
    if (!sources.spawners.includes(module)) {
      problems.push(`${module} spawns processes in the receiver`);
    }
  }
  verified.push(`receiver graph: only ${spawning.join(", ")} spawns processes`);
  const listenerModules = listener.modules.filter((m) => m.kind === "esm").map((m) =>
    rel(m.specifier)
  );
  for (const module of listenerModules) {
    if (!LISTENER_MODULES.includes(module)) {
      problems.push(`listener loads ${module}: only the bridge and line reading belong there`);
    }
  }
  for (const name of reachedPackages(listener)) {
    if (!CHILD_PACKAGES.includes(name)) problems.push(`listener loads the npm package ${name}`);
  }
  verified.push(`listener graph: ${listenerModules.join(", ")} (no keys, journal or launcher)`);
  return result("import-graph", "Import graph", problems, verified, {
    childModules,
    childPackages: reachedPackages(child),
    receiverPackages: reachedPackages(receiver),
    receiverSpawners: spawning,
  });
}
