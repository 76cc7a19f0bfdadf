/**
 * The keys file, loaded for the receiver: who may trigger which ops, with which inputs (scopes)
 * and which secrets (its format is {@linkcode KeysFile}). The keys file and every secret file
 * must be regular files (not symlinks) that the running user owns and nobody else may read or
 * write.
 * The former `"github"` flag is refused: GitHub's `X-Hub-Signature-256` scheme was removed
 * because it can be replayed.
 *
 * @module
 */
import { OPS } from "../../ops/mod.ts";
import type { OpSettings } from "../../ops/types.ts";
import { RootfenceError } from "../errors.ts";
import { KEY_ID, KeysFile, METRICS_TOKEN, parseKeysJson } from "../keys_file.ts";
import { compileScopes } from "../scopes/compile.ts";
import type { OpScopes } from "../scopes/types.ts";
import { resolveSettings } from "../settings.ts";
import { decodeSecret, newSecret, verifyingSecret } from "../signing.ts";
import { MetricsTokens } from "./metrics_tokens.ts";
import type { VerifyingKey } from "./signature.ts";
import { entryProblem, type StateEntry } from "./state_trust.ts";
import { writePrivateFile } from "./private_file.ts";

/** Why a key that still says `"github"` is refused, after its id and path. */
export const GITHUB_REMOVED = 'the "github" flag was removed: X-Hub-Signature-256 signs the ' +
  "body alone, so a captured delivery can be replayed under a new X-GitHub-Delivery id, and " +
  "the ops' strict input schemas refuse GitHub's event payloads anyway; delete the flag and " +
  "sign with Standard Webhooks (webhook-signature)";

/** A loaded key: its verifier, the ops it may trigger and the inputs it may give them. */
export interface LoadedKey extends VerifyingKey {
  /** Op names, or `"*"` for all. */
  readonly ops: readonly string[];
  /** Limits on some ops' inputs, checked at load; absent when the key has none. */
  readonly scopes?: OpScopes;
}

/** Everything loaded from the keys file. */
export interface Keyring {
  readonly keys: readonly LoadedKey[];
  /** Every file read, for the receiver's read grant. */
  readonly files: readonly string[];
  /** Who may read `GET /metrics` (the file's `metrics`); none when absent. */
  readonly metricsTokens?: MetricsTokens;
}

/**
 * Whether a key may trigger an op.
 *
 * @param key A loaded key.
 * @param op An op name.
 * @returns Whether the key lists the op, or `"*"`.
 * @example
 * ```ts
 * import { mayTrigger } from "./keys.ts";
 * import assert from "node:assert/strict";
 * assert.equal(mayTrigger({ id: "m", ops: ["smart"], secrets: [] }, "mount-usb"), false);
 * ```
 */
export function mayTrigger(key: LoadedKey, op: string): boolean {
  return key.ops.includes("*") || key.ops.includes(op);
}

/**
 * Reads a keys or secret file that must be private: checked with `lstat` (no symlink, a regular
 * file, owned by `uid`, mode 0600 or narrower), then opened, and the opened file must be the one
 * checked (same device and inode), so a swap in between is caught.
 */
async function privateText(path: string, entry: StateEntry, uid: number): Promise<string> {
  const denied = (why: string) =>
    new RootfenceError("denied", `Cannot read ${entry} "${path}": ${why}`);
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    throw denied((error as Error).message);
  }
  const problem = entryProblem(path, entry, info, uid);
  if (problem !== undefined) throw new RootfenceError("denied", problem);
  const file = await Deno.open(path, { read: true });
  try {
    const opened = await file.stat();
    if (opened.dev !== info.dev || opened.ino !== info.ino) {
      throw denied("it was replaced while being read");
    }
  } catch (error) {
    file.close();
    throw error;
  }
  return await new Response(file.readable).text();
}

/**
 * Lists the secret files a keys file names (metrics token files too), without loading or
 * checking them: for a grant list, or to check them with `assertStateTrusted` before anything is
 * loaded.
 *
 * @param path The keys file.
 * @returns The secret files, or none when the keys file is missing, not a regular file (nothing
 * is opened then: a planted FIFO cannot block) or not a valid keys file.
 * @example
 * ```ts
 * import { secretFilesOf } from "./keys.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await secretFilesOf("/nonexistent/keys.json"), []);
 * ```
 */
export async function secretFilesOf(path: string): Promise<string[]> {
  try {
    if (!(await Deno.lstat(path)).isFile) return [];
    const parsed = KeysFile.safeParse(JSON.parse(await Deno.readTextFile(path)));
    if (!parsed.success) return [];
    const { keys, metrics } = parsed.data;
    return [...keys.flatMap((k) => k.secretFiles ?? []), ...metrics?.tokenFiles ?? []];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof SyntaxError) return [];
    throw error;
  }
}

/** The id of the first key entry that still has the removed `"github"` flag. */
function githubKey(raw: unknown): string | undefined {
  const keys = (raw as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return undefined;
  const entry = keys.find((k) => typeof k === "object" && k !== null && "github" in k);
  return entry === undefined ? undefined : String((entry as { id?: unknown }).id ?? "?");
}

/**
 * Where a schema issue is, naming the key by its id (`key "disks": scopes.smart.0.device`)
 * rather than by its place in the list, when its id is one.
 */
function place(raw: unknown, path: readonly PropertyKey[]): string {
  const [top, index, ...rest] = path;
  const entry = top === "keys" && typeof index === "number"
    ? (raw as { keys?: unknown[] } | null)?.keys?.[index]
    : undefined;
  const id = (entry as { id?: unknown } | undefined)?.id;
  if (typeof id !== "string" || !KEY_ID.test(id)) return path.map(String).join(".");
  return [`key "${id}"`, ...(rest.length === 0 ? [] : [rest.map(String).join(".")])].join(" ");
}

/** Options of {@linkcode loadKeys}. */
export interface LoadKeysOptions {
  /**
   * The user that must own the keys file and every secret file: the one rootfence runs as.
   *
   * @default {Deno.uid() (needs --allow-sys=uid)}
   */
  readonly uid?: number;
  /**
   * The ops' settings in force, which scopes are checked against (mount-usb's `target` must be
   * inside the mount base).
   *
   * @default {every setting's default}
   */
  readonly settings?: OpSettings;
}

/**
 * Loads and checks the keys file. Needs read permission for it and its secret files, and
 * `--allow-sys=uid` unless `uid` is given.
 *
 * @param path The keys file.
 * @param options The user that must own the files.
 * @returns The keys, with their secrets imported once, and every file read.
 * @throws {RootfenceError} `denied` for a symlink, a file of another owner, loose file modes or
 * unreadable files; `invalid_input` for a malformed file, the removed `"github"` flag, an unknown
 * op, a duplicate id, a key without secrets, a metrics token file without a token, or a scope
 * the ops' schemas refuse (see `compileScopes`).
 * @example
 * ```ts ignore
 * const keyring = await loadKeys("/var/lib/rootfence/keys.json");
 * ```
 */
export async function loadKeys(path: string, options: LoadKeysOptions = {}): Promise<Keyring> {
  const uid = options.uid ?? Deno.uid();
  const settings = options.settings ?? resolveSettings(OPS);
  if (uid === null) throw new TypeError("Cannot check file owners: this platform has no uid");
  const text = await privateText(path, "keys file", uid);
  let raw: unknown;
  try {
    raw = parseKeysJson(text);
  } catch (error) {
    const why = (error as Error).message;
    throw new RootfenceError("invalid_input", `Cannot read keys file "${path}": ${why}`);
  }
  const github = githubKey(raw);
  if (github !== undefined) {
    throw new RootfenceError(
      "invalid_input",
      `Cannot use key "${github}" in "${path}": ${GITHUB_REMOVED}`,
    );
  }
  const parsed = KeysFile.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${place(raw, i.path)}: ${i.message}`)
      .join("; ");
    throw new RootfenceError("invalid_input", `Cannot read keys file "${path}": ${where}`);
  }
  const names = new Set(OPS.map((op) => op.name));
  const files = [path];
  const keys: LoadedKey[] = [];
  for (const entry of parsed.data.keys) {
    const problem = (why: string) =>
      new RootfenceError("invalid_input", `Cannot use key "${entry.id}" in "${path}": ${why}`);
    if (keys.some((k) => k.id === entry.id)) throw problem("its id is used twice");
    const unknown = entry.ops.filter((op) => op !== "*" && !names.has(op));
    if (unknown.length) throw problem(`unknown ops ${unknown.join(", ")}`);
    let scopes: OpScopes;
    try {
      scopes = compileScopes(entry, { settings });
    } catch (error) {
      if (!(error instanceof RootfenceError)) throw error;
      throw problem(error.message);
    }
    const secrets = [...entry.secrets ?? []];
    for (const file of entry.secretFiles ?? []) {
      secrets.push((await privateText(file, "secret file", uid)).trim());
      files.push(file);
    }
    if (secrets.length === 0) throw problem("it has no secret");
    for (const secret of secrets) {
      try {
        decodeSecret(secret);
      } catch (error) {
        throw problem((error as Error).message);
      }
    }
    // Imported once here, never per request.
    keys.push({
      id: entry.id,
      ops: entry.ops,
      ...(scopes.size === 0 ? {} : { scopes }),
      secrets: await Promise.all(secrets.map(verifyingSecret)),
    });
  }
  const metricsTokens = [...parsed.data.metrics?.tokens ?? []];
  for (const file of parsed.data.metrics?.tokenFiles ?? []) {
    const token = (await privateText(file, "secret file", uid)).trim();
    if (!METRICS_TOKEN.test(token)) {
      throw new RootfenceError(
        "invalid_input",
        `Cannot use metrics token file "${file}" in "${path}": it holds no token of 32 to 512 ` +
          "b64token characters",
      );
    }
    metricsTokens.push(token);
    files.push(file);
  }
  return { keys, files, metricsTokens: new MetricsTokens(metricsTokens) };
}

/**
 * Writes a first keys file with one all-ops key and a fresh secret, mode 0600, atomically and
 * never over anything (see {@linkcode writePrivateFile}): the keys file is either absent or
 * complete, and an existing one (or a planted symlink) is never truncated or followed. Needs
 * read and write permission for the directory.
 *
 * @param path Where the keys file goes.
 * @returns The new key's id.
 * @throws {Deno.errors.AlreadyExists} When something already is at `path`.
 * @example
 * ```ts
 * import { createKeysFile } from "./keys.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * assert.equal(await createKeysFile(`${dir}/keys.json`), "default");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function createKeysFile(path: string): Promise<string> {
  const id = "default";
  const doc = { keys: [{ id, secrets: [newSecret()], ops: ["*"] }] };
  await writePrivateFile(path, new TextEncoder().encode(JSON.stringify(doc, null, 2) + "\n"));
  return id;
}
