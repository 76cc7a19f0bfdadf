/**
 * A copy of the Deno binary in an open directory, for tests whose listener runs as `nobody`
 * (npx keeps Deno under root's 0700 home; a copy in an open directory is what an install has).
 *
 * `deno task` points `<DENO_DIR>/node_compat_bin/node` at the Deno that runs it. Run from the
 * copy, that link would dangle into a deleted temp dir once the copy is gone: a path anyone could
 * create later, in root's cache (the audit's install check refuses it). Removing the copy takes
 * the link with it; the next `deno task` makes it again.
 *
 * @module
 */

/** A Deno copy and how to remove it. */
export interface DenoCopy {
  /** The copy's path, executable by everyone. */
  readonly deno: string;
  remove(): Promise<void>;
}

function cacheDir(): string {
  return Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
}

/** Copies the running Deno into a new 0755 temp dir. */
export async function denoCopy(): Promise<DenoCopy> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-deno-" });
  await Deno.chmod(dir, 0o755);
  const deno = `${dir}/deno`;
  await Deno.copyFile(Deno.execPath(), deno);
  await Deno.chmod(deno, 0o755);
  return {
    deno,
    async remove() {
      const shim = `${cacheDir()}/node_compat_bin/node`;
      const target = await Deno.readLink(shim).catch(() => undefined);
      if (target?.startsWith(`${dir}/`)) await Deno.remove(shim).catch(() => undefined);
      await Deno.remove(dir, { recursive: true });
    },
  };
}
