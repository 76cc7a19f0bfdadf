/**
 * The keys file's format, shared by the receiver (which loads and checks it) and the client
 * (which reads a secret from it): exactly `{ "keys": [ { "id", "secrets"?, "secretFiles"?,
 * "ops" } ], "metrics"?: { "tokens"?, "tokenFiles"? } }`, so operators can write it by hand.
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
