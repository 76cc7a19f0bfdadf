/**
 * The edits `deno task keygen` makes to a keys file, as one pure function over the parsed
 * document: add a key, add a secret to a key (rotation: old and new both verify), retire a
 * secret, remove a key; add or retire a metrics token. Each refuses what would leave a key, or
 * the file, unusable.
 *
 * Needs no permissions.
 *
 * @module
 */
import type { z } from "zod";
import { OPS } from "../../ops/mod.ts";
import { KEY_ID, type KeyScopes, type KeysFile } from "../keys_file.ts";
import { UsageError } from "../cli/usage.ts";

/** A keys file, parsed. */
export type KeysDocument = z.infer<typeof KeysFile>;

/** One key of a keys file. */
type KeyEntry = KeysDocument["keys"][number];

/** One edit of a keys file. */
export type KeyEdit =
  /**
   * A new key, allowed `ops` (op names, or `"*"` for all), with one new secret, and `scopes` on
   * their inputs when given (checked by the caller against the ops' schemas: see
   * `runtime/scopes/compile.ts`).
   */
  | {
    readonly kind: "add";
    readonly id: string;
    readonly ops: readonly string[];
    readonly secret: string;
    readonly scopes?: KeyScopes;
  }
  /** One more secret for a key, after the ones it has. */
  | { readonly kind: "rotate"; readonly id: string; readonly secret: string }
  /**
   * One secret less: `which` is its position among the key's inline secrets (1 is the oldest),
   * a prefix of it (`whsec_` and at least 4 more characters, matching one secret) or a secret
   * file's path.
   */
  | { readonly kind: "retire"; readonly id: string; readonly which: string }
  /** One key less. */
  | { readonly kind: "remove"; readonly id: string }
  /** One more bearer token that may read `GET /metrics`. */
  | { readonly kind: "metrics-token"; readonly token: string }
  /**
   * One metrics token less: `which` is its position among the inline tokens (1 is the oldest),
   * a prefix of it (at least 8 characters, matching one token) or a token file's path.
   */
  | { readonly kind: "retire-metrics-token"; readonly which: string };

/** The shortest secret prefix `retire` takes: `whsec_` and 4 characters. */
const MIN_PREFIX = "whsec_".length + 4;

/** The one entry with `id`, and where it is. */
function entryOf(doc: KeysDocument, id: string, action: string): [KeyEntry, number] {
  const at = doc.keys.findIndex((k) => k.id === id);
  if (at < 0) {
    const known = doc.keys.map((k) => `"${k.id}"`).join(", ");
    throw new UsageError(`Cannot ${action} key "${id}": there is no such key (keys: ${known})`);
  }
  if (doc.keys.findIndex((k, i) => i > at && k.id === id) >= 0) {
    throw new UsageError(
      `Cannot ${action} key "${id}": the file lists it twice, which the receiver refuses; ` +
        "fix the file by hand",
    );
  }
  return [doc.keys[at]!, at];
}

/** The document with the entry at `at` replaced (or dropped, for `undefined`). */
function withEntry(doc: KeysDocument, at: number, entry: KeyEntry | undefined): KeysDocument {
  const keys = doc.keys.flatMap((k, i) => i !== at ? [k] : entry === undefined ? [] : [entry]);
  return { ...doc, keys };
}

/** Checks an op list: op names or `"*"`, at least one, each once. */
function checkedOps(id: string, ops: readonly string[]): string[] {
  const names = OPS.map((op) => op.name);
  const unknown = ops.filter((op) => op !== "*" && !names.includes(op));
  if (ops.length === 0 || unknown.length > 0) {
    throw new UsageError(
      `Cannot add key "${id}": ${
        unknown.length > 0 ? `unknown ops ${unknown.map((op) => `"${op}"`).join(", ")}` : "no ops"
      }; name some of ${names.join(", ")}, or "*" for all`,
    );
  }
  return [...new Set(ops)];
}

/** The entry without one secret, refusing to take its last. */
function retired(entry: KeyEntry, which: string): KeyEntry {
  const secrets = entry.secrets ?? [];
  const files = entry.secretFiles ?? [];
  const cannot = `Cannot retire a secret of key "${entry.id}"`;
  let keep: { secrets: string[]; secretFiles: string[] };
  if (/^[0-9]+$/.test(which)) {
    const n = Number(which);
    if (n < 1 || n > secrets.length) {
      throw new UsageError(
        `${cannot}: it has no secret ${which} (its inline secrets are 1..${secrets.length})`,
      );
    }
    keep = { secrets: secrets.filter((_, i) => i !== n - 1), secretFiles: files };
  } else if (which.startsWith("/")) {
    if (!files.includes(which)) {
      throw new UsageError(`${cannot}: it has no secret file "${which}"`);
    }
    keep = { secrets, secretFiles: files.filter((f) => f !== which) };
  } else if (which.startsWith("whsec_") && which.length >= MIN_PREFIX) {
    const matching = secrets.filter((s) => s.startsWith(which));
    if (matching.length !== 1) {
      throw new UsageError(
        `${cannot}: ${matching.length} of its secrets start with that prefix; give more of it`,
      );
    }
    keep = { secrets: secrets.filter((s) => s !== matching[0]), secretFiles: files };
  } else {
    throw new UsageError(
      `${cannot}: give --secret its position (1 is the oldest), its start (whsec_ and at least ` +
        "4 more characters) or a secret file's path",
    );
  }
  if (keep.secrets.length + keep.secretFiles.length === 0) {
    throw new UsageError(
      `${cannot}: it is the key's last one; add a new one first (--rotate ${entry.id}), or ` +
        `remove the key (--remove ${entry.id})`,
    );
  }
  return withSecrets(entry, keep.secrets, keep.secretFiles);
}

/**
 * The entry with other secrets and everything else kept as it was: its ops, and its scopes,
 * which a rotation that dropped them would silently widen to any input.
 */
function withSecrets(
  entry: KeyEntry,
  secrets: readonly string[],
  secretFiles: readonly string[],
): KeyEntry {
  const { id, secrets: _, secretFiles: __, ops, ...rest } = entry;
  return {
    id,
    ...(secrets.length > 0 ? { secrets: [...secrets] } : {}),
    ...(secretFiles.length > 0 ? { secretFiles: [...secretFiles] } : {}),
    ops,
    ...rest,
  };
}

/** The document with its metrics tokens replaced; no `metrics` at all when none is left. */
function withTokens(doc: KeysDocument, tokens: string[], tokenFiles: string[]): KeysDocument {
  const { metrics: _, ...rest } = doc;
  if (tokens.length + tokenFiles.length === 0) return rest;
  return {
    ...rest,
    metrics: {
      ...(tokens.length > 0 ? { tokens } : {}),
      ...(tokenFiles.length > 0 ? { tokenFiles } : {}),
    },
  };
}

/** The document without one metrics token. */
function retiredToken(doc: KeysDocument, which: string): KeysDocument {
  const tokens = doc.metrics?.tokens ?? [];
  const files = doc.metrics?.tokenFiles ?? [];
  const cannot = "Cannot retire a metrics token";
  if (/^[0-9]+$/.test(which)) {
    const n = Number(which);
    if (n < 1 || n > tokens.length) {
      throw new UsageError(
        `${cannot}: there is no token ${which} (the inline tokens are 1..${tokens.length})`,
      );
    }
    return withTokens(doc, tokens.filter((_, i) => i !== n - 1), [...files]);
  }
  if (which.startsWith("/")) {
    if (!files.includes(which)) {
      throw new UsageError(`${cannot}: there is no token file "${which}"`);
    }
    return withTokens(doc, [...tokens], files.filter((f) => f !== which));
  }
  const matching = which.length >= 8 ? tokens.filter((t) => t.startsWith(which)) : [];
  if (matching.length !== 1) {
    throw new UsageError(
      `${cannot}: give its position (1 is the oldest), a token file's path, or at least 8 ` +
        `characters of its start that match one token (${matching.length} match)`,
    );
  }
  return withTokens(doc, tokens.filter((t) => t !== matching[0]), [...files]);
}

/**
 * Applies one edit to a keys file's document. Pure: the document given is not changed.
 *
 * @param doc The keys file, parsed.
 * @param edit What to change.
 * @returns The new document.
 * @throws {UsageError} For an unknown key or a key the file lists twice; on `add`, an id in use
 * or not of `[A-Za-z0-9_.-]{1,64}`, or an unknown op; on `retire`, a secret the key does not
 * have or its last one; on `remove`, the file's only key; on `retire-metrics-token`, a token the
 * file does not have.
 * @example
 * ```ts
 * import { editKeys } from "./key_edits.ts";
 * import assert from "node:assert/strict";
 * const old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
 * const next = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
 * const doc = { keys: [{ id: "default", secrets: [old], ops: ["*"] }] };
 * const rotated = editKeys(doc, { kind: "rotate", id: "default", secret: next });
 * assert.deepEqual(rotated.keys[0]!.secrets, [old, next]);
 * const retired = editKeys(rotated, { kind: "retire", id: "default", which: "1" });
 * assert.deepEqual(retired.keys[0]!.secrets, [next]);
 * assert.throws(() => editKeys(retired, { kind: "retire", id: "default", which: "1" }));
 * ```
 */
export function editKeys(doc: KeysDocument, edit: KeyEdit): KeysDocument {
  switch (edit.kind) {
    case "add": {
      if (!KEY_ID.test(edit.id)) {
        throw new UsageError(
          `Cannot add key "${edit.id}": an id is 1 to 64 letters, digits, "_", "." or "-"`,
        );
      }
      if (doc.keys.some((k) => k.id === edit.id)) {
        throw new UsageError(
          `Cannot add key "${edit.id}": it already exists; add a secret to it with ` +
            `--rotate ${edit.id}`,
        );
      }
      const ops = checkedOps(edit.id, edit.ops);
      const scopes = edit.scopes === undefined ? {} : { scopes: edit.scopes };
      return {
        ...doc,
        keys: [...doc.keys, { id: edit.id, secrets: [edit.secret], ops, ...scopes }],
      };
    }
    case "rotate": {
      const [entry, at] = entryOf(doc, edit.id, "add a secret to");
      const secrets = [...entry.secrets ?? [], edit.secret];
      return withEntry(doc, at, withSecrets(entry, secrets, entry.secretFiles ?? []));
    }
    case "retire": {
      const [entry, at] = entryOf(doc, edit.id, "retire a secret of");
      return withEntry(doc, at, retired(entry, edit.which));
    }
    case "remove": {
      const [, at] = entryOf(doc, edit.id, "remove");
      if (doc.keys.length === 1) {
        throw new UsageError(
          `Cannot remove key "${edit.id}": it is the file's only key; add another first`,
        );
      }
      return withEntry(doc, at, undefined);
    }
    case "metrics-token":
      return withTokens(
        doc,
        [...doc.metrics?.tokens ?? [], edit.token],
        [...doc.metrics?.tokenFiles ?? []],
      );
    case "retire-metrics-token":
      return retiredToken(doc, edit.which);
  }
}
