/**
 * `deno task keygen`: creates a keys file, or edits one without anyone hand-editing JSON (add a
 * key, add a secret to a key, retire a secret, remove a key, add or retire a metrics token; the
 * edits are `key_edits.ts`). Every
 * write is atomic, mode 0600 and never through a symlink (`private_file.ts`), and an edit keeps
 * the file's owner. A new secret is never printed: it is in the keys file, and `--secret-out`
 * writes a copy to a new 0600 file for its sender. A running receiver takes the new file on
 * SIGHUP.
 *
 * Needs read and write permission for the keys file's folder (and `--secret-out`'s).
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { OPS } from "../../ops/mod.ts";
import { KeyScopes, KeysFile, parseKeysJson } from "../keys_file.ts";
import { RootfenceError } from "../errors.ts";
import { compileScopes } from "../scopes/compile.ts";
import { createKeysFile } from "../server/keys.ts";
import { SettingError, settingsFromFlags, settingsOptions } from "../settings.ts";
import { writePrivateFile } from "../server/private_file.ts";
import { newSecret } from "../signing.ts";
import { denoTask, HELP, NeedError, parseCli, printUsage, UsageError } from "../cli/usage.ts";
import { editKeys, type KeyEdit, type KeysDocument } from "./key_edits.ts";

/** keygen's part of `deno task keygen --help`. */
export const KEYGEN_USAGE =
  `  deno task keygen --keys-file <file>              create it, with one key for all ops
  deno task keygen --keys-file <file> --add <id> --ops <op,...|*> [--scope <json>]
                   [--mount-base <dir>] [--secret-out <file>]
  deno task keygen --keys-file <file> --rotate <id> [--secret-out <file>]
  deno task keygen --keys-file <file> --retire <id> --secret <n|whsec_start|secret file>
  deno task keygen --keys-file <file> --remove <id>
  deno task keygen --keys-file <file> --metrics-token [--secret-out <file>]
  deno task keygen --keys-file <file> --retire-metrics-token <n|start|token file>`;

/** What keygen's help says about the edits. */
export const KEYGEN_NOTES = `keygen:
  --add makes a key with a new secret; --rotate adds a new secret to a key (old and new both
  verify until --retire removes the old: --secret 1 is the oldest); --remove drops a key. A new
  secret is never printed: it is in the keys file, and --secret-out <file> writes a copy to a new
  0600 file for its sender (deno task send --key-file <file>). --scope limits the new key's
  inputs per op, e.g. '{"smart":[{"device":{"oneOf":["/dev/sda","/dev/sdb"]}}]}', checked
  against the ops' schemas with the receiver's --mount-base. --metrics-token adds a bearer
  token for GET /metrics (Prometheus' credentials_file: --secret-out writes it there), and
  --retire-metrics-token removes one (1 is the oldest). A running receiver reloads the keys file
  on SIGHUP (systemctl reload rootfence).`;

const STRING = { type: "string" } as const;

/** A new metrics token: `rfm_` and 32 random bytes in base64url (43 characters). */
function newMetricsToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const base64 = btoa(String.fromCharCode(...bytes));
  return `rfm_${base64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`;
}

/** Where a file's folder is, or a one-line {@linkcode NeedError} when there is none. */
async function folderOf(path: string, what: string): Promise<void> {
  const dir = dirname(resolve(path));
  if (!await Deno.stat(dir).then((info) => info.isDirectory, () => false)) {
    throw new NeedError(`Cannot create ${what}: there is no folder "${dir}"; create it first`);
  }
}

async function create(path: string): Promise<number> {
  if (await Deno.lstat(path).then(() => true, () => false)) {
    throw new NeedError(
      `Cannot create "${path}": it already exists; keep it, or move it away to make a new one`,
    );
  }
  await folderOf(path, `"${path}"`);
  const id = await createKeysFile(path);
  console.log(`rootfence: created key "${id}" in ${path} (mode 0600)`);
  return 0;
}

/**
 * Reads the keys file to edit: a regular file, never through a symlink, and the one that was
 * checked (same inode when opened).
 */
async function readKeys(path: string): Promise<{ doc: KeysDocument; info: Deno.FileInfo }> {
  const cannot = `Cannot edit "${path}"`;
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new NeedError(
      `${cannot}: it does not exist; create it with ${denoTask()} keygen --keys-file ${path}`,
    );
  }
  if (info.isSymlink) {
    throw new NeedError(`${cannot}: it is a symlink; point --keys-file at the real file`);
  }
  if (!info.isFile) throw new NeedError(`${cannot}: it is not a regular file`);
  const file = await Deno.open(path, { read: true });
  try {
    const opened = await file.stat();
    if (opened.dev !== info.dev || opened.ino !== info.ino) {
      throw new NeedError(`${cannot}: it was replaced while being read; run the edit again`);
    }
  } catch (error) {
    file.close();
    throw error;
  }
  const text = await new Response(file.readable).text();
  let raw: unknown;
  try {
    raw = parseKeysJson(text);
  } catch (error) {
    const why = (error as Error).message;
    throw new NeedError(
      `${cannot}: ${why === "not JSON" ? "it is not JSON" : why}; fix it by hand`,
    );
  }
  const parsed = KeysFile.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new NeedError(`${cannot}: it is not a valid keys file (${where}); fix it by hand`);
  }
  return { doc: parsed.data, info };
}

/** Writes a new secret's copy for its sender; `undefined` when none was asked for. */
async function handOut(out: string | undefined, secret: string): Promise<string | undefined> {
  if (out === undefined) return undefined;
  await folderOf(out, `"${out}"`);
  try {
    await writePrivateFile(out, new TextEncoder().encode(`${secret}\n`));
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    throw new NeedError(
      `Cannot write the new secret to "${out}": something is already there; name a new file`,
    );
  }
  return out;
}

/**
 * A new key's `--scope`, checked as the receiver will check it at load: its shape, then each op
 * and field against the ops' schemas, with the settings given as flags (`--mount-base`).
 */
function checkedScopes(
  id: string,
  ops: readonly string[],
  text: string,
  values: Readonly<Record<string, unknown>>,
): KeyScopes {
  const cannot = `Cannot add key "${id}": --scope`;
  let raw: unknown;
  try {
    raw = parseKeysJson(text);
  } catch (error) {
    throw new UsageError(`${cannot}: ${(error as Error).message}`);
  }
  const parsed = KeyScopes.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new UsageError(`${cannot}: ${where}`);
  }
  let settings;
  try {
    settings = settingsFromFlags(OPS, values);
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    throw new UsageError(`--${error.flag}: ${error.problem}`);
  }
  try {
    compileScopes({ ops, scopes: parsed.data }, { settings });
  } catch (error) {
    if (!(error instanceof RootfenceError)) throw error;
    throw new UsageError(`${cannot}: ${error.message}`);
  }
  return parsed.data;
}

/** The one edit the flags ask for, or `create` when they ask for none. */
function editOf(values: Readonly<Record<string, string | boolean | undefined>>): KeyEdit | {
  readonly kind: "create";
} {
  const text = (name: string) => values[name] as string | undefined;
  const asked = ["add", "rotate", "retire", "remove", "metrics-token", "retire-metrics-token"]
    .filter((flag) => values[flag] !== undefined && values[flag] !== false);
  if (asked.length > 1) {
    throw new UsageError(`Cannot ${asked.map((f) => `--${f}`).join(" and ")} at once: one edit`);
  }
  const [kind] = asked as (
    | "add"
    | "rotate"
    | "retire"
    | "remove"
    | "metrics-token"
    | "retire-metrics-token"
  )[];
  const only = (flag: string, edits: readonly string[]) => {
    if (text(flag) !== undefined && !edits.includes(kind ?? "")) {
      throw new UsageError(`--${flag} goes with ${edits.map((e) => `--${e}`).join(" or ")}`);
    }
  };
  only("ops", ["add"]);
  only("scope", ["add"]);
  only("secret", ["retire"]);
  only("secret-out", ["add", "rotate", "metrics-token"]);
  // The ops' settings only say what a scope is checked against.
  const setting = Object.keys(settingsOptions(OPS)).find((flag) => text(flag) !== undefined);
  if (setting !== undefined && text("scope") === undefined) {
    throw new UsageError(`--${setting} goes with --scope`);
  }
  if (kind === undefined) return { kind: "create" };
  if (kind === "metrics-token") return { kind, token: newMetricsToken() };
  if (kind === "retire-metrics-token") return { kind, which: text(kind)! };
  const id = text(kind)!;
  switch (kind) {
    case "add": {
      const ops = text("ops");
      if (ops === undefined) {
        throw new UsageError(
          `Cannot add key "${id}": name its ops with --ops (for example --ops smart,sensors; ` +
            `--ops '*' for all)`,
        );
      }
      const list = ops.split(",").map((op) => op.trim()).filter(Boolean);
      const scope = text("scope");
      const scopes = scope === undefined ? {} : { scopes: checkedScopes(id, list, scope, values) };
      return { kind, id, ops: list, secret: newSecret(), ...scopes };
    }
    case "rotate":
      return { kind, id, secret: newSecret() };
    case "retire": {
      const which = text("secret");
      if (which === undefined) {
        throw new UsageError(
          `Cannot retire a secret of key "${id}": say which with --secret (1 is the oldest)`,
        );
      }
      return { kind, id, which };
    }
    case "remove":
      return { kind, id };
  }
}

/** `; inputs scoped for smart,mount-usb` for a key with scopes. */
function scoped(entry: KeysDocument["keys"][number]): string {
  const ops = Object.keys(entry.scopes ?? {});
  return ops.length === 0 ? "" : `; inputs scoped for ${ops.join(",")}`;
}

/** What one edit did, in one line; `before` and `after` are the file's documents. */
function done(
  edit: KeyEdit,
  path: string,
  [before, after]: readonly [KeysDocument, KeysDocument],
  out: string | undefined,
): string {
  const copy = out === undefined ? "" : `; a copy for its sender is in ${out} (mode 0600)`;
  const tokens = (after.metrics?.tokens?.length ?? 0) + (after.metrics?.tokenFiles?.length ?? 0);
  if (edit.kind === "metrics-token") {
    return `rootfence: added metrics token ${after.metrics!.tokens!.length} to ${path}` +
      (out === undefined ? "" : `; a copy for Prometheus is in ${out} (mode 0600)`);
  }
  if (edit.kind === "retire-metrics-token") {
    return `rootfence: retired a metrics token in ${path} (${tokens} left)`;
  }
  const entry = after.keys.find((k) => k.id === edit.id);
  switch (edit.kind) {
    case "add":
      return `rootfence: added key "${edit.id}" (ops ${entry!.ops.join(",")}` +
        `${scoped(entry!)}) to ${path}; its secret is there${copy}`;
    case "rotate":
      return `rootfence: added secret ${entry!.secrets!.length} to key "${edit.id}" in ${path}` +
        `${copy}; old and new both verify until ${denoTask()} keygen --keys-file ${path} ` +
        `--retire ${edit.id} --secret 1`;
    case "retire": {
      const left = (entry!.secrets?.length ?? 0) + (entry!.secretFiles?.length ?? 0);
      return `rootfence: retired a secret of key "${edit.id}" in ${path} (${left} left)`;
    }
    case "remove": {
      const files = before.keys.find((k) => k.id === edit.id)?.secretFiles ?? [];
      return `rootfence: removed key "${edit.id}" from ${path}` +
        (files.length > 0 ? `; its secret files are left in place: ${files.join(", ")}` : "");
    }
  }
}

/**
 * Runs `deno task keygen`.
 *
 * @param args The arguments after `keygen`.
 * @param usage The whole help of the deploy entry, for `--help`.
 * @returns The exit code.
 * @throws {UsageError} For a command line that does not fit, and for a refused edit.
 * @throws {NeedError} For a keys file that is missing, a symlink or not a keys file, or a
 * `--secret-out` that exists.
 * @example
 * ```ts ignore
 * await keygen(["--keys-file", "keys.json", "--rotate", "default"], USAGE);
 * ```
 */
export async function keygen(args: string[], usage: string): Promise<number> {
  const options = {
    "keys-file": STRING,
    add: STRING,
    ops: STRING,
    rotate: STRING,
    retire: STRING,
    secret: STRING,
    remove: STRING,
    "secret-out": STRING,
    scope: STRING,
    ...settingsOptions(OPS),
    "metrics-token": { type: "boolean" },
    "retire-metrics-token": STRING,
    help: HELP,
  } as const;
  const { values } = parseCli({ args, strict: true, options });
  if (values.help) return printUsage(usage);
  const path = values["keys-file"];
  if (path === undefined) throw new UsageError("--keys-file is required");
  const edit = editOf(values);
  if (edit.kind === "create") return await create(path);
  const { doc, info } = await readKeys(path);
  const next = editKeys(doc, edit);
  const handed = "secret" in edit ? edit.secret : "token" in edit ? edit.token : undefined;
  const out = handed === undefined ? undefined : await handOut(values["secret-out"], handed);
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(next, null, 2) + "\n");
    await writePrivateFile(path, bytes, { replaces: info });
  } catch (error) {
    // The keys file was not changed: its secret's copy must not outlive it.
    if (out !== undefined) await Deno.remove(out).catch(() => {});
    throw error;
  }
  console.log(done(edit, path, [doc, next], out));
  console.log(
    "rootfence: a running receiver takes it on SIGHUP: kill -HUP <pid of deno task start or " +
      "of the executor>, or systemctl reload rootfence",
  );
  return 0;
}
