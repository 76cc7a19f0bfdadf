/**
 * The key check: what each key can do as root. It reads a keys file as the receiver would load
 * it (its shape, its ops, its scopes against the ops' schemas under the audited settings), never
 * its secrets, and says per key each op it may trigger and with which inputs, in the words of
 * `runtime/scopes/words.ts`. A file the receiver would refuse fails the check.
 *
 * Needs read permission for the keys file.
 *
 * @module
 */
import { OPS } from "../../ops/mod.ts";
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { RootfenceError } from "../errors.ts";
import { KeysFile, parseKeysJson } from "../keys_file.ts";
import { compileScopes } from "../scopes/compile.ts";
import { scopeWords } from "../scopes/words.ts";
import { type CheckResult, result } from "./types.ts";

const ID = "key-scopes";
const NAME = "What each key can do as root";

/** One key's rights, for `audit.json`. */
interface KeyRights {
  readonly id: string;
  readonly ops: readonly { readonly op: string; readonly inputs: string }[];
}

async function fileText(path: string): Promise<string | string[]> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    return [`Cannot read keys file "${path}": ${(error as Error).message}`];
  }
}

/**
 * Lists what each key of a keys file may run, and with which inputs.
 *
 * @param keysFile The keys file, or `undefined` to skip the check.
 * @param settings The ops' settings scopes are checked against (the audited ones).
 * @param ops The ops a key's `"*"` stands for. @default {OPS}
 * @returns The check: one line per key and op, e.g. `key "disks": smart: device is "/dev/sda"`;
 * failing, with the receiver's reason, for a file it would refuse.
 */
export async function checkKeyScopes(
  keysFile: string | undefined,
  settings: OpSettings,
  ops: readonly AnyOp[] = OPS,
): Promise<CheckResult> {
  if (keysFile === undefined) {
    return {
      id: ID,
      name: NAME,
      status: "skip",
      messages: ["run with --state-dir <dir> or --keys-file <file>"],
    };
  }
  const text = await fileText(keysFile);
  if (Array.isArray(text)) return result(ID, NAME, text, []);
  let raw: unknown;
  try {
    raw = parseKeysJson(text);
  } catch (error) {
    return result(
      ID,
      NAME,
      [`Cannot read keys file "${keysFile}": ${(error as Error).message}`],
      [],
    );
  }
  const parsed = KeysFile.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    return result(ID, NAME, where.map((w) => `Cannot read keys file "${keysFile}": ${w}`), []);
  }
  const problems: string[] = [];
  const rights: KeyRights[] = [];
  for (const [at, entry] of parsed.data.keys.entries()) {
    if (parsed.data.keys.findIndex((k) => k.id === entry.id) < at) {
      problems.push(`key "${entry.id}": its id is used twice`);
      continue;
    }
    const named = (name: string) => name === "*" || ops.some((op) => op.name === name);
    const unknown = entry.ops.filter((name) => !named(name));
    if (unknown.length > 0) {
      problems.push(`key "${entry.id}": unknown ops ${unknown.join(", ")}`);
      continue;
    }
    try {
      const scopes = compileScopes(entry, { settings, ops });
      const names = entry.ops.includes("*") ? ops.map((op) => op.name) : [...new Set(entry.ops)];
      rights.push({
        id: entry.id,
        ops: names.map((op) => ({ op, inputs: scopeWords(scopes.get(op)) })),
      });
    } catch (error) {
      if (!(error instanceof RootfenceError)) throw error;
      problems.push(`key "${entry.id}": ${error.message}`);
    }
  }
  const lines = rights.flatMap((key) =>
    key.ops.map(({ op, inputs }) => `key "${key.id}": ${op}: ${inputs}`)
  );
  return result(ID, NAME, problems, [`${keysFile}:`, ...lines], { keysFile, keys: rights });
}
