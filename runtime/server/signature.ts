/**
 * Standard Webhooks signatures (v1, HMAC-SHA256 over `<id>.<timestamp>.<raw body>`), verified on
 * the raw bytes before any parsing. The cheap checks come first (id format, timestamp window,
 * header size and entry count), so an unsigned request costs no HMAC at all; then each secret's
 * HMAC is computed once and compared in constant time with every candidate signature. The work
 * per request is therefore bounded by the number of secrets, never by what the sender sends.
 *
 * GitHub's `X-Hub-Signature-256` is not accepted: it signs the body alone (no timestamp, and not
 * `X-GitHub-Delivery`), so a captured delivery can be replayed under any new delivery id.
 *
 * Needs no permissions.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";

/** Timestamps further than this from now, either way, are refused. */
export const TOLERANCE_SECONDS = 300;

/** A delivery id: no dot (it separates the signed fields), no space, bounded. */
export const DELIVERY_ID = /^[A-Za-z0-9_:-]{1,255}$/;

/** Unix seconds: digits only, bounded (no sign, exponent or fraction for `Number` to read). */
const TIMESTAMP = /^[0-9]{1,12}$/;

/** Signatures one request may list (rotation needs two; senders rarely send more). */
export const MAX_SIGNATURES = 8;

/**
 * The longest `webhook-signature` header read: {@linkcode MAX_SIGNATURES} entries of `v1,`, 44
 * base64 characters and a space.
 */
export const MAX_SIGNATURE_HEADER = MAX_SIGNATURES * 48;

/** A key as the verifier needs it: its id and its secrets, imported once at load. */
export interface VerifyingKey {
  readonly id: string;
  /** HMAC-SHA256 keys (usage `sign`), from {@linkcode verifyingSecret}. */
  readonly secrets: readonly CryptoKey[];
}

/** Why a request was refused. */
export type SignatureFailure = "signature_missing" | "signature_invalid" | "signature_expired";

/** The outcome of verifying a request. */
export type Verified =
  | { readonly ok: true; readonly key: VerifyingKey; readonly deliveryId: string }
  | { readonly ok: false; readonly code: SignatureFailure; readonly detail: string };

/** Computes an HMAC: `crypto.subtle.sign("HMAC", key, data)` unless a test counts the calls. */
export type HmacSign = (key: CryptoKey, data: Uint8Array<ArrayBuffer>) => Promise<ArrayBuffer>;

/** Options of {@linkcode verifySignature}. */
export interface VerifySignatureOptions {
  /** The configured keys. */
  readonly keys: readonly VerifyingKey[];
  /** The current Unix time, in seconds. */
  readonly nowSeconds: number;
  /**
   * The HMAC primitive; called at most once per secret per request.
   *
   * @default {WebCrypto's HMAC `sign`}
   */
  readonly sign?: HmacSign;
}

/** Decodes strict base64 (the platform's own decoder), or `undefined` when it is not base64. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.fromBase64(text);
  } catch {
    return undefined;
  }
}

function webCryptoSign(key: CryptoKey, data: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer> {
  return crypto.subtle.sign("HMAC", key, data);
}

/**
 * Decodes a `whsec_<base64>` secret into its 24 to 64 key bytes.
 *
 * @param secret The secret as written in the keys file.
 * @returns The key bytes.
 * @throws {RangeError} When the secret is not in that form.
 * @example
 * ```ts
 * import { decodeSecret } from "./signature.ts";
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
 * import { decodeSecret, newSecret } from "./signature.ts";
 * import assert from "node:assert/strict";
 * assert.equal(decodeSecret(newSecret()).length, 32);
 * ```
 */
export function newSecret(): string {
  return `whsec_${crypto.getRandomValues(new Uint8Array(32)).toBase64()}`;
}

function hmacKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/**
 * Imports one `whsec_` secret for verification. Call it once per secret when the keys are
 * loaded, never per request.
 *
 * @param secret A `whsec_` secret.
 * @returns A non-extractable HMAC-SHA256 key.
 * @throws {RangeError} When the secret is not `whsec_` + base64 of 24 to 64 bytes.
 * @example
 * ```ts
 * import { verifyingSecret } from "./signature.ts";
 * import assert from "node:assert/strict";
 * const key = await verifyingSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
 * assert.equal(key.extractable, false);
 * ```
 */
export function verifyingSecret(secret: string): Promise<CryptoKey> {
  return hmacKey(decodeSecret(secret));
}

function signedContent(id: string, timestamp: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = new TextEncoder().encode(`${id}.${timestamp}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix);
  content.set(body, prefix.length);
  return content;
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
 * import { signStandard } from "./signature.ts";
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
  const mac = await webCryptoSign(
    await hmacKey(decodeSecret(secret)),
    signedContent(id, timestamp, body),
  );
  return `v1,${new Uint8Array(mac).toBase64()}`;
}

function refuse(code: SignatureFailure, detail: string): Verified {
  return { ok: false, code, detail };
}

/**
 * Reads the candidate v1 signatures of a `webhook-signature` header: a bounded list of
 * space-separated `<version>,<base64>` entries. Other versions (such as `v1a`) are skipped, and so
 * are v1 entries that are not 32 bytes of base64.
 */
function candidates(header: string): Uint8Array<ArrayBuffer>[] | Verified {
  if (header.length > MAX_SIGNATURE_HEADER) {
    return refuse(
      "signature_invalid",
      `webhook-signature is longer than ${MAX_SIGNATURE_HEADER} characters`,
    );
  }
  const entries = header.split(" ").filter((entry) => entry !== "");
  if (entries.length > MAX_SIGNATURES) {
    return refuse(
      "signature_invalid",
      `webhook-signature lists ${entries.length} signatures; at most ${MAX_SIGNATURES} are read`,
    );
  }
  return entries.flatMap((entry) => {
    const [version, value] = entry.split(",", 2);
    const bytes = version === "v1" && value ? decodeBase64(value) : undefined;
    return bytes?.length === 32 ? [bytes] : [];
  });
}

/**
 * Verifies a request's Standard Webhooks signature over its raw body and finds the key that
 * signed it. Refuses a missing or malformed id or timestamp, a timestamp outside
 * ±{@linkcode TOLERANCE_SECONDS}, and an oversized signature list before computing any HMAC;
 * then computes one HMAC per secret (never one per listed signature).
 *
 * @param headers The request headers.
 * @param body The raw body bytes, exactly as received (for a signed read: `GET <path+query>`).
 * @param options The keys, the clock and (for tests) the HMAC primitive.
 * @returns The key and delivery id, or why the request is refused.
 * @example
 * ```ts
 * import { verifyingSecret, verifySignature } from "./signature.ts";
 * import assert from "node:assert/strict";
 * const headers = new Headers({
 *   "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
 *   "webhook-timestamp": "1614265330",
 *   "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
 * });
 * const key = { id: "automation", secrets: [await verifyingSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")] };
 * const body = new TextEncoder().encode('{"test": 2432232314}');
 * const verified = await verifySignature(headers, body, { keys: [key], nowSeconds: 1614265330 });
 * assert.equal(verified.ok && verified.key.id, "automation");
 * ```
 */
export async function verifySignature(
  headers: Headers,
  body: Uint8Array,
  options: VerifySignatureOptions,
): Promise<Verified> {
  const { keys, nowSeconds, sign = webCryptoSign } = options;
  const header = headers.get("webhook-signature");
  if (header === null) {
    return refuse(
      "signature_missing",
      headers.has("x-hub-signature-256")
        ? "X-Hub-Signature-256 is not accepted (it can be replayed); sign with webhook-id, " +
          "webhook-timestamp and webhook-signature"
        : "send webhook-id, webhook-timestamp and webhook-signature",
    );
  }
  const id = headers.get("webhook-id") ?? "";
  if (!DELIVERY_ID.test(id)) {
    return refuse("signature_missing", "webhook-id is missing or malformed");
  }
  const timestamp = headers.get("webhook-timestamp") ?? "";
  if (!TIMESTAMP.test(timestamp)) {
    return refuse("signature_missing", "webhook-timestamp is missing or malformed");
  }
  if (Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) {
    return refuse(
      "signature_expired",
      `webhook-timestamp is more than ${TOLERANCE_SECONDS} s from now`,
    );
  }
  const signatures = candidates(header);
  if (!Array.isArray(signatures)) return signatures;
  if (signatures.length === 0) {
    return refuse("signature_invalid", "webhook-signature has no v1 signature of 32 bytes");
  }
  const content = signedContent(id, timestamp, body);
  for (const key of keys) {
    for (const secret of key.secrets) {
      const expected = new Uint8Array(await sign(secret, content));
      // Every candidate is compared, in constant time: the match's position reveals nothing.
      let match = false;
      for (const signature of signatures) match = timingSafeEqual(expected, signature) || match;
      if (match) return { ok: true, key, deliveryId: id };
    }
  }
  return refuse("signature_invalid", "no v1 signature matches a key");
}
