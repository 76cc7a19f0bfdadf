/**
 * Stand-ins for binaries a machine lacks (`pct` anywhere but on Proxmox), so the audit can still
 * prove each op's grant names exactly its binaries: a root-owned script in a fresh directory that
 * only says what it is. A run with stand-ins proves the fence, not the host; the audit's output
 * says which binaries were stood in.
 *
 * @module
 */
import type { BinaryName } from "../../ops/types.ts";

/** Where the stand-ins are, and the path of each. */
export interface StandIns {
  readonly dir: string;
  readonly paths: Readonly<Partial<Record<BinaryName, string>>>;
}

/**
 * Writes one stand-in script per name into a new directory (mode 0755, like a bin directory).
 * Needs write permission for the temp directory.
 *
 * @param names The binaries to stand in for.
 * @returns Their directory and paths; put the directory first on the bin path.
 */
export async function createStandIns(names: readonly BinaryName[]): Promise<StandIns> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-audit-stand-ins-" });
  await Deno.chmod(dir, 0o755);
  const paths: Partial<Record<BinaryName, string>> = {};
  for (const name of names) {
    const path = `${dir}/${name}`;
    const script = `#!/bin/sh\necho "rootfence audit stand-in for ${name}, not the real one" >&2\n`;
    await Deno.writeTextFile(path, script, { mode: 0o755 });
    await Deno.chmod(path, 0o755);
    paths[name] = path;
  }
  return { dir, paths };
}
