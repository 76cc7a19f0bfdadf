/**
 * What the starter checks of the listener's own files before it starts anything, so that a bad
 * certificate, key or socket path fails the start in one line instead of ending a listener after
 * the executor is up: the TLS pair exactly as the listener will load it, the key's and the Unix
 * socket's directories (nobody but root or the listener's user may replace what is in them), and
 * that the listener's user can read the pair and create its socket. The listener repeats what its
 * own grants allow (the pair, the socket path), which is all of it but the directories above;
 * under systemd, without the starter, those are the operator's.
 *
 * Needs read permission for the files and every directory above them.
 *
 * @module
 */
import { dirname } from "node:path";
import type { ServerConfig } from "./config.ts";
import { ancestorProblem, directoriesAbove } from "./state_trust.ts";
import { keyFileProblem, loadTlsPair } from "./tls_pair.ts";

/** Whether the listener's user may do `test <flag> <path>`: `-r` read, `-w` write, `-x` enter. */
export type CanAs = (flag: "-r" | "-w" | "-x", path: string) => Promise<boolean>;

async function aboveProblem(path: string, uid: number, what: string): Promise<string | undefined> {
  for (const dir of await directoriesAbove(path)) {
    const info = await Deno.lstat(dir).catch(() => undefined);
    const problem = info === undefined ? undefined : ancestorProblem(dir, info, uid, what);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * The first problem with the listener's TLS pair or Unix socket, as one line, or `undefined`.
 *
 * @param config The receiver's settings: `cert`, `key` and `listenPath` are looked at.
 * @param uid The user the listener runs as.
 * @param canAs Tests as that user, when it is not the caller.
 * @returns What to fix, or `undefined`.
 * @example
 * ```ts
 * import { listenerFilesProblem } from "./listener_files.ts";
 * import { serverDefaults } from "./config.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/key.pem`, "");
 * const config = { ...serverDefaults(dir), cert: `${dir}/cert.pem`, key: `${dir}/key.pem` };
 * await Deno.chmod(`${dir}/key.pem`, 0o644);
 * assert.match((await listenerFilesProblem(config, Deno.uid()!))!, /chmod 600/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function listenerFilesProblem(
  config: ServerConfig,
  uid: number,
  canAs?: CanAs,
): Promise<string | undefined> {
  const { cert, key, listenPath } = config;
  if (cert !== undefined && key !== undefined) {
    // Who owns the key first: that says what to fix, where "cannot read it" would not.
    const info = await Deno.lstat(key).catch(() => undefined);
    const owner = info === undefined ? undefined : keyFileProblem(key, info, uid);
    if (owner !== undefined) return owner;
    const above = await aboveProblem(key, uid, "the TLS key");
    if (above !== undefined) return above;
    for (const path of [cert, key]) {
      if (canAs !== undefined && !await canAs("-r", path)) {
        return `Cannot use "${path}": the listener's user (uid ${uid}) cannot read it`;
      }
    }
    try {
      await loadTlsPair(cert, key, uid);
    } catch (error) {
      return (error as Error).message;
    }
  }
  if (listenPath !== undefined) {
    const dir = dirname(listenPath);
    const above = await aboveProblem(listenPath, uid, "the listener's socket");
    if (above !== undefined) return above;
    if (!(await Deno.lstat(dir).catch(() => undefined))?.isDirectory) {
      return `Cannot listen on "${listenPath}": "${dir}" is not a directory`;
    }
    if (canAs !== undefined && !(await canAs("-w", dir) && await canAs("-x", dir))) {
      return `Cannot listen on "${listenPath}": the listener's user (uid ${uid}) cannot ` +
        `create files in "${dir}"`;
    }
  }
  return undefined;
}
