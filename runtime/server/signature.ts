/**
 * Standard Webhooks signatures (v1, HMAC-SHA256 over `<id>.<timestamp>.<raw body>`), and the
 * optional GitHub `X-Hub-Signature-256` for senders that speak only that. Verification runs on
 * the raw bytes, before any parsing, with WebCrypto's constant-time `verify`.
 *
 * @module
 */

/** Decodes strict base64 (the platform's own decoder), or `undefined` when it is not base64. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.fromBase64(text);
  } catch {
    return undefined;
  }
}

/** Timestamps further than this from now, either way, are refused. */
export const TOLERANCE_SECONDS = 300;

/** A delivery id: no dot (it separates the signed fields), no space, bounded. */
export const DELIVERY_ID = /^[A-Za-z0-9_:-]{1,255}$/;

/** One verifying secret of a key, imported once. */
export interface VerifyingSecret {
  /** For Standard Webhooks: the decoded `whsec_` bytes (absent for a GitHub-only secret). */
  readonly standard: CryptoKey | undefined;
  /** For GitHub: the secret string as written, as the key bytes (what GitHub uses). */
  readonly github: CryptoKey;
}

/** A key as the verifier needs it. */
export interface VerifyingKey {
  readonly id: string;
  readonly secrets: readonly VerifyingSecret[];
  /** Whether `X-Hub-Signature-256` is accepted for this key. */
  readonly github: boolean;
}

/** Why a request was refused. */
export type SignatureFailure = "signature_missing" | "signature_invalid" | "signature_expired";

/** The outcome of verifying a request. */
export type Verified =
  | { readonly ok: true; readonly key: VerifyingKey; readonly deliveryId: string }
  | { readonly ok: false; readonly code: SignatureFailure; readonly detail: string };

/**
 * Decodes a `whsec_<base64>` secret into its 24 to 64 key bytes.
 *
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

/** Creates a new random `whsec_` secret of 32 bytes. */
export function newSecret(): string {
  return `whsec_${crypto.getRandomValues(new Uint8Array(32)).toBase64()}`;
}

function hmacKey(raw: Uint8Array<ArrayBuffer>, usages: KeyUsage[]): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, usages);
}

/**
 * Imports one secret for verification: a `whsec_` secret serves both schemes; any other string
 * (allowed only on GitHub keys) serves `X-Hub-Signature-256` alone.
 */
export async function verifyingSecret(secret: string): Promise<VerifyingSecret> {
  const standard = secret.startsWith("whsec_") ? decodeSecret(secret) : undefined;
  return {
    standard: standard === undefined ? undefined : await hmacKey(standard, ["verify"]),
    github: await hmacKey(new TextEncoder().encode(secret), ["verify"]),
  };
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
 * @returns `v1,<base64 signature>`.
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
  const key = await hmacKey(decodeSecret(secret), ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, signedContent(id, timestamp, body));
  return `v1,${new Uint8Array(mac).toBase64()}`;
}

async function anyKey(
  keys: readonly VerifyingKey[],
  signatures: readonly Uint8Array<ArrayBuffer>[],
  content: Uint8Array<ArrayBuffer>,
  pick: (secret: VerifyingSecret) => CryptoKey | undefined,
  allowed: (key: VerifyingKey) => boolean,
): Promise<VerifyingKey | undefined> {
  for (const key of keys) {
    if (!allowed(key)) continue;
    for (const secret of key.secrets) {
      const cryptoKey = pick(secret);
      if (cryptoKey === undefined) continue;
      for (const signature of signatures) {
        if (await crypto.subtle.verify("HMAC", cryptoKey, signature, content)) return key;
      }
    }
  }
  return undefined;
}

/**
 * Verifies a request's signature over its raw body and finds the key that signed it.
 *
 * @param headers The request headers.
 * @param body The raw body bytes, exactly as received.
 * @param keys The configured keys.
 * @param nowSeconds The current Unix time.
 */
export async function verifySignature(
  headers: Headers,
  body: Uint8Array,
  keys: readonly VerifyingKey[],
  nowSeconds: number,
): Promise<Verified> {
  const standard = headers.get("webhook-signature");
  if (standard !== null) {
    const id = headers.get("webhook-id") ?? "";
    const timestamp = headers.get("webhook-timestamp") ?? "";
    if (!DELIVERY_ID.test(id)) {
      return { ok: false, code: "signature_missing", detail: "webhook-id is missing or malformed" };
    }
    if (!/^[0-9]{1,12}$/.test(timestamp)) {
      return {
        ok: false,
        code: "signature_missing",
        detail: "webhook-timestamp is missing or malformed",
      };
    }
    const signatures = standard.split(" ").flatMap((entry) => {
      const [version, value] = entry.split(",", 2);
      const bytes = version === "v1" && value ? decodeBase64(value) : undefined;
      return bytes?.length === 32 ? [bytes] : [];
    });
    const content = signedContent(id, timestamp, body);
    const key = await anyKey(keys, signatures, content, (s) => s.standard, () => true);
    if (key === undefined) {
      return { ok: false, code: "signature_invalid", detail: "no v1 signature matches a key" };
    }
    if (Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) {
      return {
        ok: false,
        code: "signature_expired",
        detail: `webhook-timestamp is more than ${TOLERANCE_SECONDS} s from now`,
      };
    }
    return { ok: true, key, deliveryId: id };
  }
  const github = headers.get("x-hub-signature-256");
  if (github !== null) {
    const id = headers.get("x-github-delivery") ?? "";
    if (!DELIVERY_ID.test(id)) {
      return { ok: false, code: "signature_missing", detail: "X-GitHub-Delivery is missing" };
    }
    const hex = /^sha256=([0-9a-f]{64})$/.exec(github)?.[1];
    const signature = hex ? Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16)) : undefined;
    const content = new Uint8Array(body);
    const key = signature
      ? await anyKey(keys, [signature], content, (s) => s.github, (k) => k.github)
      : undefined;
    if (key === undefined) {
      return { ok: false, code: "signature_invalid", detail: "X-Hub-Signature-256 matches no key" };
    }
    return { ok: true, key, deliveryId: `github:${id}` };
  }
  return {
    ok: false,
    code: "signature_missing",
    detail: "send webhook-id, webhook-timestamp and webhook-signature",
  };
}
