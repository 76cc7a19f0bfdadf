/**
 * Where the real captures live for tests: `tests/testdata/` in this repository (one folder per
 * kind, provenance in `tests/testdata/README.md`), or the folder named by `$ROOTFENCE_FIXTURES`,
 * which must hold the same per-kind subfolders. They are read in place, never copied or edited.
 *
 * @module
 */

const root = Deno.env.get("ROOTFENCE_FIXTURES") ??
  decodeURIComponent(new URL("./testdata", import.meta.url).pathname);

/**
 * The folder of one kind of capture, or `undefined` (after printing why) when it is absent, as
 * when `$ROOTFENCE_FIXTURES` names a folder without that kind.
 */
export function fixtureDir(kind: "smartctl" | "sensors" | "pct"): string | undefined {
  const dir = `${root}/${kind}`;
  try {
    if (Deno.statSync(dir).isDirectory) return dir;
  } catch {
    // absent
  }
  console.log(`skip: real ${kind} captures not found at ${dir} (check ROOTFENCE_FIXTURES)`);
  return undefined;
}

/** Names of the files in a fixture folder whose names match, sorted. */
export function fixtureNames(dir: string | undefined, pattern: RegExp): string[] {
  if (dir === undefined) return [];
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => pattern.test(n)).sort();
}

/** A pct transcript without its three `#` provenance lines. */
export function pctTranscript(dir: string, name: string): string {
  const lines = Deno.readTextFileSync(`${dir}/${name}`).split("\n");
  return lines.filter((line, i) => !(i < 3 && line.startsWith("# "))).join("\n");
}
