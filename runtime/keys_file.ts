/**
 * The keys file's format, shared by the receiver (which loads and checks it) and the client
 * (which reads a secret from it): exactly `{ "keys": [ { "id", "secrets"?, "secretFiles"?,
 * "ops", "scopes"? } ], "metrics"?: { "tokens"?, "tokenFiles"? } }`, so operators can write it
 * by hand. A key's `scopes` limit the input of some of its ops; here only their shape is checked,
 * the receiver checks them against the ops' own schemas (`runtime/scopes/compile.ts`).
 *
 * Needs read permission for the file a client names, and nothing else.
 *
 * @module
 */
import { z } from "zod";
import { normalisedPath } from "./process/fence.ts";
import { NeedError } from "./cli/usage.ts";

/** A key's id: letters, digits, `_`, `.` and `-`, 1 to 64 of them (it appears in logs). */
export const KEY_ID: RegExp = /^[A-Za-z0-9_.-]{1,64}$/;

/** An op name in a scope, as the registry spells them. */
const SCOPE_OP = /^[a-z][a-z0-9-]{0,63}$/;

/** An input field name in a scope, as the ops' schemas spell them. */
const SCOPE_FIELD = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** One of several values, or an integer range: the object forms of a constraint. */
const SCOPE_RULE = z.strictObject({
  oneOf: z.array(z.json()).min(1, "must list at least one value").optional(),
  min: z.number().optional(),
  max: z.number().optional(),
}).superRefine((rule, ctx) => {
  const problem = (message: string) => ctx.addIssue({ code: "custom", message });
  const ranged = rule.min !== undefined || rule.max !== undefined;
  if (rule.oneOf !== undefined && ranged) return problem("oneOf cannot go with min or max");
  if (rule.oneOf === undefined && !ranged) return problem("needs oneOf, or min and/or max");
  for (const bound of [rule.min, rule.max]) {
    if (bound !== undefined && !Number.isSafeInteger(bound)) {
      return problem(`min and max must be integers, not ${bound}`);
    }
  }
  if (rule.min !== undefined && rule.max !== undefined && rule.min > rule.max) {
    problem(`min ${rule.min} is above max ${rule.max}: no value could pass`);
  }
});

/**
 * What one input field of a scope must be: a value it must equal (`null`: the field must be
 * absent), `{ "oneOf": [...] }` (one of these values; a list or object value goes here too), or
 * `{ "min": n, "max": n }` (an integer in this range, either bound may be left out).
 */
export const ScopeConstraint = z.union(
  [z.string(), z.number(), z.boolean(), z.null(), SCOPE_RULE],
  {
    error: 'must be a value (text, a number, true, false or null), { "oneOf": [...] } or ' +
      '{ "min": n, "max": n }; a list or object value goes inside oneOf',
  },
);

/** One constraint on one input field of an op. */
export type ScopeConstraint = z.infer<typeof ScopeConstraint>;

/**
 * A key's scopes: per op, a list of alternatives; an input is allowed when every constraint of
 * one alternative holds. An op the key may trigger but that has no scope takes any valid input.
 */
export const KeyScopes = z.record(
  z.string().regex(SCOPE_OP, "must be an op name"),
  z.array(
    z.record(z.string().regex(SCOPE_FIELD, "must be an input field name"), ScopeConstraint)
      .refine(
        (alternative) => Object.keys(alternative).length > 0,
        "an alternative without constraints allows any input; drop the op's scope instead",
      ),
  ).min(1, "must list at least one alternative; drop the op from ops to refuse it"),
);

/** A key's scopes, as written. */
export type KeyScopes = z.infer<typeof KeyScopes>;

/**
 * A bearer token for `GET /metrics`: an RFC 6750 `b64token` of 32 to 512 characters (what
 * `deno task keygen --metrics-token` writes is `rfm_` and 43 base64url characters).
 */
export const METRICS_TOKEN: RegExp = /^[A-Za-z0-9._~+/-]{32,512}={0,2}$/;

/** The keys file schema. */
export const KeysFile = z.strictObject({
  keys: z.array(z.strictObject({
    id: z.string().regex(KEY_ID),
    secrets: z.array(z.string()).optional(),
    // Each becomes part of the executor's --allow-read list: a comma would split it in two.
    secretFiles: z.array(z.string().refine(normalisedPath, "an absolute, normalised path"))
      .optional(),
    ops: z.array(z.string()).min(1),
    scopes: KeyScopes.optional(),
  })).min(1),
  /**
   * Who may read `GET /metrics`: bearer tokens, inline or one per file (Prometheus cannot sign
   * a request). No key's secret reads metrics, and no token triggers or reads a job.
   */
  metrics: z.strictObject({
    tokens: z.array(z.string().regex(METRICS_TOKEN, "a token of 32 to 512 b64token characters"))
      .optional(),
    // Read like secret files, so part of the same --allow-read list.
    tokenFiles: z.array(z.string().refine(normalisedPath, "an absolute, normalised path"))
      .optional(),
  }).optional(),
});

/**
 * Parses a keys file's text, or a scope's, as JSON. A `"__proto__"` key anywhere is refused: zod's
 * records skip it without a word, so a constraint written under it would silently vanish.
 *
 * @param text The JSON text.
 * @returns The value.
 * @throws {SyntaxError} `not JSON`, or one naming the `"__proto__"` key.
 * @example
 * ```ts
 * import { parseKeysJson } from "./keys_file.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseKeysJson('{"a":[1]}'), { a: [1] });
 * assert.throws(() => parseKeysJson('{"smart":[{"__proto__":1}]}'), /"__proto__" key/);
 * ```
 */
export function parseKeysJson(text: string): unknown {
  let proto = false;
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v) => {
      proto ||= key === "__proto__";
      return v;
    });
  } catch {
    throw new SyntaxError("not JSON");
  }
  if (proto) throw new SyntaxError('it has a "__proto__" key, which names nothing');
  return value;
}

/**
 * Reads the first secret of a key for a client (`deno task send`). Needs read permission for
 * the file, and for the key's first secret file when it has no inline secret.
 *
 * @param path A keys file, or a file holding one `whsec_` secret.
 * @param keyId Which key of a keys file; the first when omitted.
 * @returns The secret.
 * @throws {RangeError} When the key has no secret; {z.ZodError} for a malformed keys file.
 * @example
 * ```ts
 * import { clientSecret } from "./keys_file.ts";
 * import assert from "node:assert/strict";
 * const file = await Deno.makeTempFile();
 * await Deno.writeTextFile(file, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
 * assert.equal(await clientSecret(file), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
 * await Deno.remove(file);
 * ```
 */
export async function clientSecret(path: string, keyId?: string): Promise<string> {
  let text: string;
  try {
    text = (await Deno.readTextFile(path)).trim();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new NeedError(
      `Cannot read the key file "${path}": it does not exist; start the receiver once (it ` +
        "creates <state dir>/keys.json) or pass --key-file",
    );
  }
  if (text.startsWith("whsec_")) return text;
  let doc: z.infer<typeof KeysFile>;
  try {
    doc = KeysFile.parse(JSON.parse(text));
  } catch {
    throw new NeedError(
      `Cannot read the key file "${path}": it holds neither a whsec_ secret nor a keys file`,
    );
  }
  const key = keyId === undefined ? doc.keys[0] : doc.keys.find((k) => k.id === keyId);
  const secret = key?.secrets?.[0] ??
    (key?.secretFiles?.[0] ? (await Deno.readTextFile(key.secretFiles[0])).trim() : undefined);
  if (secret === undefined) {
    throw new NeedError(`Cannot find a secret for key "${keyId ?? "first"}" in "${path}"`);
  }
  return secret;
}
