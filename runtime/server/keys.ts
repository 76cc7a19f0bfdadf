/**
 * The keys file: who may trigger which ops, with which secrets. Its format is exactly
 * `{ "keys": [ { "id", "secrets"?, "secretFiles"?, "ops", "github"? } ] }` so operators can
 * write it by hand. Files readable or writable by group or others are refused.
 *
 * @module
 */
import { z } from "zod";
import { OPS } from "../../ops/mod.ts";
import { RootfenceError } from "../errors.ts";
import { decodeSecret, newSecret, type VerifyingKey, verifyingSecret } from "./signature.ts";

const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** The keys file schema. */
export const KeysFile = z.strictObject({
  keys: z.array(z.strictObject({
    id: z.string().regex(KEY_ID),
    secrets: z.array(z.string()).optional(),
    secretFiles: z.array(z.string().startsWith("/")).optional(),
    ops: z.array(z.string()).min(1),
    github: z.boolean().optional(),
  })).min(1),
});

/** A loaded key: its verifier and the ops it may trigger. */
export interface LoadedKey extends VerifyingKey {
  /** Op names, or `"*"` for all. */
  readonly ops: readonly string[];
}

/** Everything loaded from the keys file. */
export interface Keyring {
  readonly keys: readonly LoadedKey[];
  /** Every file read, for the receiver's read grant. */
  readonly files: readonly string[];
}

/** Whether a key may trigger an op. */
export function mayTrigger(key: LoadedKey, op: string): boolean {
  return key.ops.includes("*") || key.ops.includes(op);
}

async function privateText(path: string, what: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new RootfenceError(
      "denied",
      `Cannot read ${what} "${path}": ${(error as Error).message}`,
    );
  }
  if (((info.mode ?? 0) & 0o066) !== 0) {
    const mode = ((info.mode ?? 0) & 0o777).toString(8);
    throw new RootfenceError(
      "denied",
      `Cannot use ${what} "${path}": mode ${mode} lets group or others read or write it (chmod 600)`,
    );
  }
  return await Deno.readTextFile(path);
}

/** Lists the secret files a keys file names, without loading them. */
export async function secretFilesOf(path: string): Promise<string[]> {
  const parsed = KeysFile.safeParse(JSON.parse(await Deno.readTextFile(path)));
  return parsed.success ? parsed.data.keys.flatMap((k) => k.secretFiles ?? []) : [];
}

/**
 * Loads and checks the keys file. Needs read permission for it and its secret files.
 *
 * @throws {RootfenceError} `denied` for loose file modes or unreadable files; `invalid_input`
 * for a malformed file, an unknown op, a duplicate id or a key without secrets.
 */
export async function loadKeys(path: string): Promise<Keyring> {
  const text = await privateText(path, "keys file");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RootfenceError("invalid_input", `Cannot read keys file "${path}": not JSON`);
  }
  const parsed = KeysFile.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
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
    const secrets = [...entry.secrets ?? []];
    for (const file of entry.secretFiles ?? []) {
      secrets.push((await privateText(file, "secret file")).trim());
      files.push(file);
    }
    if (secrets.length === 0) throw problem("it has no secret");
    for (const secret of secrets) {
      // A GitHub key may hold the plain string GitHub was given; anything else must be whsec_.
      if (entry.github === true && !secret.startsWith("whsec_")) {
        if (secret.length < 16) throw problem("a GitHub secret needs at least 16 characters");
        continue;
      }
      try {
        decodeSecret(secret);
      } catch (error) {
        throw problem((error as Error).message);
      }
    }
    keys.push({
      id: entry.id,
      ops: entry.ops,
      github: entry.github ?? false,
      secrets: await Promise.all(secrets.map(verifyingSecret)),
    });
  }
  return { keys, files };
}

/**
 * Writes a first keys file with one all-ops key and a fresh secret, mode 0600. Never
 * overwrites. Needs write permission for the path.
 *
 * @returns The new key's id.
 */
export async function createKeysFile(path: string): Promise<string> {
  const id = "default";
  const doc = { keys: [{ id, secrets: [newSecret()], ops: ["*"] }] };
  await Deno.writeTextFile(path, JSON.stringify(doc, null, 2) + "\n", {
    createNew: true,
    mode: 0o600,
  });
  await Deno.chmod(path, 0o600);
  return id;
}

/**
 * Reads the first secret of a key for a client (`deno task send`).
 *
 * @param path A keys file, or a file holding one `whsec_` secret.
 * @param keyId Which key of a keys file; the first when omitted.
 */
export async function clientSecret(path: string, keyId?: string): Promise<string> {
  const text = (await Deno.readTextFile(path)).trim();
  if (text.startsWith("whsec_")) return text;
  const doc = KeysFile.parse(JSON.parse(text));
  const key = keyId === undefined ? doc.keys[0] : doc.keys.find((k) => k.id === keyId);
  const secret = key?.secrets?.[0] ??
    (key?.secretFiles?.[0] ? (await Deno.readTextFile(key.secretFiles[0])).trim() : undefined);
  if (secret === undefined) {
    throw new RangeError(`Cannot find a secret for key "${keyId ?? "first"}"`);
  }
  return secret;
}
