/**
 * Whether the Deno cache the executor loads its code from (hono, zod, transpiled modules, the V8
 * code cache) may be trusted: `--frozen` never re-checks what is already in it, and in direct mode
 * the executor is root and may run Deno. Every directory above it, its top-level entries and the
 * executor's packages and generated code must belong to root or to the running user and be
 * writable by nobody else, so no one else can ever plant code there.
 *
 * Needs read permission for the cache and the directories above it.
 *
 * @module
 */
import { directoriesAbove } from "./state_trust.ts";

/**
 * The npm packages the executor loads: deno.json's imports it uses at run time, and what
 * prom-client loads in turn.
 */
export const EXECUTOR_PACKAGES: readonly string[] = [
  "hono",
  "zod",
  "prom-client",
  "@opentelemetry/api",
  "tdigest",
  "bintrees",
];

/** At most this many entries are looked at below the cache; a larger cache is refused. */
const BUDGET = 50_000;

function problemOf(
  path: string,
  info: Deno.FileInfo,
  uid: number,
  above: boolean,
): string | undefined {
  const mode = info.mode ?? 0;
  const sticky = info.isDirectory && (mode & 0o1000) !== 0;
  if (info.uid !== 0 && info.uid !== uid) {
    return `"${path}" is owned by uid ${info.uid}, neither root nor uid ${uid}`;
  }
  if (info.isSymlink) return above ? undefined : `"${path}" is a symlink`;
  if ((mode & 0o022) !== 0 && !(above && sticky)) {
    return `"${path}" is writable by group or others (mode ${(mode & 0o7777).toString(8)})`;
  }
  return undefined;
}

async function* walk(path: string, budget: { left: number }): AsyncGenerator<string> {
  if (budget.left-- <= 0) throw new RangeError("too many entries");
  yield path;
  const info = await Deno.lstat(path);
  if (!info.isDirectory) return;
  for await (const entry of Deno.readDir(path)) yield* walk(`${path}/${entry.name}`, budget);
}

/**
 * Lists, one line each, why the cache may not be trusted (empty when it may). A cache that does
 * not exist yet is fine when the directories above it are.
 */
export async function cacheTrustProblems(denoDir: string, uid: number): Promise<string[]> {
  const problems: string[] = [];
  const fix = `; chown -R and chmod -R go-w it, or point DENO_DIR at a cache only you can write`;
  for (const dir of await directoriesAbove(denoDir)) {
    const info = await Deno.lstat(dir).catch(() => undefined);
    const problem = info && problemOf(dir, info, uid, true);
    if (problem !== undefined) problems.push(problem);
  }
  const top = await Deno.lstat(denoDir).catch(() => undefined);
  if (top === undefined) return problems.map((p) => `Cannot trust the Deno cache: ${p}${fix}`);
  const roots = [denoDir];
  for await (const entry of Deno.readDir(denoDir)) roots.push(`${denoDir}/${entry.name}`);
  const deep = [
    `${denoDir}/gen`,
    ...EXECUTOR_PACKAGES.map((name) => `${denoDir}/npm/registry.npmjs.org/${name}`),
  ];
  const budget = { left: BUDGET };
  try {
    for (const path of roots) {
      const info = await Deno.lstat(path);
      const problem = problemOf(path, info, uid, false);
      if (problem !== undefined) problems.push(problem);
    }
    for (const root of deep) {
      if (await Deno.lstat(root).catch(() => undefined) === undefined) continue;
      for await (const path of walk(root, budget)) {
        const problem = problemOf(path, await Deno.lstat(path), uid, false);
        if (problem !== undefined) problems.push(problem);
        if (problems.length >= 10) break;
      }
    }
  } catch (error) {
    problems.push(`"${denoDir}" cannot be checked: ${(error as Error).message}`);
  }
  return problems.map((p) => `Cannot trust the Deno cache: ${p}${fix}`);
}
