/**
 * Standard Webhooks signatures (v1, HMAC-SHA256 over `<id>.<timestamp>.<raw body>`; the scheme
 * itself is in `../signing.ts`, shared with the client), verified on the raw bytes before any
 * parsing. The cheap checks come first (id format, timestamp window,
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
import { createHmac, KeyObject, timingSafeEqual } from "node:crypto";
import { decodeBase64, signedContent } from "../signing.ts";

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
  /** HMAC-SHA256 keys (usage `sign`), from `verifyingSecret` in `../signing.ts`. */
  readonly secrets: readonly CryptoKey[];
}

/** Why a request was refused. */
export type SignatureFailure = "signature_missing" | "signature_invalid" | "signature_expired";

/** The outcome of verifying a request: the configured key that signed it, or why not. */
export type Verified<K extends VerifyingKey = VerifyingKey> =
  | { readonly ok: true; readonly key: K; readonly deliveryId: string }
  | { readonly ok: false; readonly code: SignatureFailure; readonly detail: string };

/** Computes an HMAC-SHA256 of `data` under `key`; a test may pass one that counts the calls. */
export type HmacSign = (
  key: CryptoKey,
  data: Uint8Array<ArrayBuffer>,
) => Uint8Array | ArrayBuffer | Promise<ArrayBuffer>;

/** Options of {@linkcode verifySignature}. */
export interface VerifySignatureOptions<K extends VerifyingKey = VerifyingKey> {
  /** The configured keys; the one that signed is returned as it is. */
  readonly keys: readonly K[];
  /** The current Unix time, in seconds. */
  readonly nowSeconds: number;
  /**
   * The HMAC primitive; called at most once per secret per request.
   *
   * @default {node:crypto's `createHmac` over the key}
   */
  readonly sign?: HmacSign;
}

/**
 * Each key's node:crypto handle, made once. It holds the same secret as the `CryptoKey` and could
 * export it, as could anything in this process that reads the keys file; it is used only here,
 * for HMAC-SHA256, whatever the key's own algorithm says (`verifyingSecret` makes only those).
 */
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

/**
 * node:crypto's HMAC, synchronous: WebCrypto's `sign` is an async op that cost 32 µs of CPU per
 * call here against 12 µs, and a turn of the event loop on every request.
 */
function nodeSign(key: CryptoKey, data: Uint8Array<ArrayBuffer>): Uint8Array {
  let handle = keyObjects.get(key);
  if (handle === undefined) {
    handle = KeyObject.from(key);
    keyObjects.set(key, handle);
  }
  return createHmac("sha256", handle).update(data).digest();
}

function refuse(code: SignatureFailure, detail: string): Verified<never> {
  return { ok: false, code, detail };
}

/**
 * Reads the candidate v1 signatures of a `webhook-signature` header: a bounded list of
 * space-separated `<version>,<base64>` entries. Other versions (such as `v1a`) are skipped, and so
 * are v1 entries that are not 32 bytes of base64.
 */
function candidates(header: string): Uint8Array<ArrayBuffer>[] | Verified<never> {
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
 * import { verifyingSecret } from "../signing.ts";
 * import { verifySignature } from "./signature.ts";
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
export async function verifySignature<K extends VerifyingKey>(
  headers: Headers,
  body: Uint8Array,
  options: VerifySignatureOptions<K>,
): Promise<Verified<K>> {
  const { keys, nowSeconds, sign = nodeSign } = options;
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
