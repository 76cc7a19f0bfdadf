/**
 * Standard Webhooks signing (v1, HMAC-SHA256 over `<id>.<timestamp>.<raw body>`), shared by the
 * client that signs and the receiver that verifies: the `whsec_` secret format, the signed
 * content, the content of a signed read, and the three headers a signed request carries.
 *
 * Needs no permissions.
 *
 * @module
 */

/** The headers of a signed request, as a sender writes them. */
export interface SignatureHeaders {
  readonly "webhook-id": string;
  readonly "webhook-timestamp": string;
  readonly "webhook-signature": string;
}

/**
 * Decodes strict base64 (the platform's own decoder).
 *
 * @param text Base64 text.
 * @returns The bytes, or `undefined` when the text is not base64.
 * @example
 * ```ts
 * import { decodeBase64 } from "./signing.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeBase64("AQI="), new Uint8Array([1, 2]));
 * assert.equal(decodeBase64("not base64!"), undefined);
 * ```
 */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.fromBase64(text);
  } catch {
    return undefined;
  }
}

/**
 * Decodes a `whsec_<base64>` secret into its 24 to 64 key bytes.
 *
 * @param secret The secret as written in the keys file.
 * @returns The key bytes.
 * @throws {RangeError} When the secret is not in that form.
 * @example
 * ```ts
 * import { decodeSecret } from "./signing.ts";
 * import assert from "node:assert/strict";
 * assert.equal(decodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").length, 24);
 * ```
 */
export function decodeSecret(secret: string): Uint8Array<ArrayBuffer> {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  const bytes = match ? decodeBase64(match[1]!) : undefined;
  if (bytes === undefined || bytes.length < 24 || bytes.length > 64) {
    throw new RangeError("Cannot use secret: it must be whsec_ + base64 of 24 to 64 bytes");
  }
  return bytes;
}

/**
 * Creates a new random `whsec_` secret of 32 bytes.
 *
 * @returns The secret.
 * @example
 * ```ts
 * import { decodeSecret, newSecret } from "./signing.ts";
 * import assert from "node:assert/strict";
 * assert.equal(decodeSecret(newSecret()).length, 32);
 * ```
 */
export function newSecret(): string {
  return `whsec_${crypto.getRandomValues(new Uint8Array(32)).toBase64()}`;
}

/**
 * Imports one `whsec_` secret as an HMAC-SHA256 key. The receiver calls it once per secret when
 * the keys are loaded, never per request.
 *
 * @param secret A `whsec_` secret.
 * @returns A non-extractable HMAC-SHA256 key (usage `sign`). Non-extractable keeps it out of
 * `exportKey`, not out of this process: the executor verifies through node:crypto's
 * `KeyObject.from(key)` (`server/signature.ts`), which holds the same secret.
 * @throws {RangeError} When the secret is not `whsec_` + base64 of 24 to 64 bytes.
 * @example
 * ```ts
 * import { verifyingSecret } from "./signing.ts";
 * import assert from "node:assert/strict";
 * const key = await verifyingSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
 * assert.equal(key.extractable, false);
 * ```
 */
export function verifyingSecret(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    decodeSecret(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

/**
 * The bytes a v1 signature covers: `<id>.<timestamp>.` followed by the raw body.
 *
 * @param id The `webhook-id`.
 * @param timestamp The `webhook-timestamp`, Unix seconds as text.
 * @param body The raw body bytes.
 * @returns The signed content.
 * @example
 * ```ts
 * import { signedContent } from "./signing.ts";
 * import assert from "node:assert/strict";
 * const content = signedContent("msg_1", "1614265330", new TextEncoder().encode("{}"));
 * assert.equal(new TextDecoder().decode(content), "msg_1.1614265330.{}");
 * ```
 */
export function signedContent(
  id: string,
  timestamp: string,
  body: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const prefix = new TextEncoder().encode(`${id}.${timestamp}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix);
  content.set(body, prefix.length);
  return content;
}

/**
 * What a read signs in place of a body: `GET <path and query>`, so the secret never crosses the
 * wire and a captured read expires with its timestamp.
 *
 * @param url The URL read.
 * @returns The bytes to sign or verify.
 * @example
 * ```ts
 * import { readContent } from "./signing.ts";
 * import assert from "node:assert/strict";
 * const content = readContent("http://127.0.0.1:8787/jobs?limit=5");
 * assert.equal(new TextDecoder().decode(content), "GET /jobs?limit=5");
 * ```
 */
export function readContent(url: string | URL): Uint8Array<ArrayBuffer> {
  const { pathname, search } = new URL(url);
  return new TextEncoder().encode(`GET ${pathname}${search}`);
}

/**
 * Signs a message the Standard Webhooks way.
 *
 * @param secret A `whsec_` secret.
 * @param id The `webhook-id`.
 * @param timestamp The `webhook-timestamp`, Unix seconds as text.
 * @param body The raw body bytes.
 * @returns `v1,<base64 signature>`.
 * @throws {RangeError} When the secret is not a `whsec_` secret.
 * @example
 * ```ts
 * import { signStandard } from "./signing.ts";
 * import assert from "node:assert/strict";
 * const signature = await signStandard(
 *   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
 *   "msg_p5jXN8AQM9LWM0D4loKWxJek",
 *   "1614265330",
 *   new TextEncoder().encode('{"test": 2432232314}'),
 * );
 * assert.equal(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
 * ```
 */
export async function signStandard(
  secret: string,
  id: string,
  timestamp: string,
  body: Uint8Array,
): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await verifyingSecret(secret),
    signedContent(id, timestamp, body),
  );
  return `v1,${new Uint8Array(mac).toBase64()}`;
}

/** Options of {@linkcode signatureHeaders}. */
export interface SignatureHeadersOptions {
  /**
   * The `webhook-id`; resend the same id to retry a delivery safely.
   *
   * @default {`msg_` + a random UUID}
   */
  readonly id?: string;
  /**
   * Unix seconds.
   *
   * @default {now}
   */
  readonly timestamp?: number;
}

/**
 * Builds the three headers that sign `content`.
 *
 * @param secret A `whsec_` secret.
 * @param content The raw body, or {@linkcode readContent} for a read.
 * @param options The delivery id and the timestamp.
 * @returns `webhook-id`, `webhook-timestamp` and `webhook-signature`.
 * @throws {RangeError} When the secret is not a `whsec_` secret.
 * @example
 * ```ts
 * import { signatureHeaders } from "./signing.ts";
 * import assert from "node:assert/strict";
 * const headers = await signatureHeaders(
 *   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
 *   new TextEncoder().encode('{"test": 2432232314}'),
 *   { id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330 },
 * );
 * assert.equal(headers["webhook-signature"], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
 * ```
 */
export async function signatureHeaders(
  secret: string,
  content: Uint8Array,
  options: SignatureHeadersOptions = {},
): Promise<SignatureHeaders> {
  const { id = `msg_${crypto.randomUUID()}`, timestamp = Math.floor(Date.now() / 1000) } = options;
  const ts = String(timestamp);
  return {
    "webhook-id": id,
    "webhook-timestamp": ts,
    "webhook-signature": await signStandard(secret, id, ts, content),
  };
}
