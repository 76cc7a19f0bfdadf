/**
 * Standard Webhooks authentication for the routes: the signature is verified over the raw bytes
 * (a trigger's body, or `GET <path and query>` for a read) before anything is parsed, and the key
 * that signed is set in the context as the loaded key itself.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { readContent } from "../../signing.ts";
import type { AppEnv } from "../context.ts";
import type { KeyringHolder } from "../keyring_holder.ts";
import { mayTrigger } from "../keys.ts";
import { Problem } from "../problems.ts";
import type { SeenReads } from "../seen_reads.ts";
import { verifySignature } from "../signature.ts";

/** What a signature covers, and what else a signer must satisfy. */
export type SignedContent =
  /** A trigger: the raw body (set by `jsonBody`); the key must be allowed the op (`knownOp`). */
  | { readonly signs: "body" }
  /** A read: `GET <path and query>`; each read signature is good once. */
  | { readonly signs: "read"; readonly seen: SeenReads };

/** Options of {@linkcode webhookAuth}. */
export type WebhookAuthOptions = SignedContent & {
  /** The keys in force, read once per request (a reload swaps them in between). */
  readonly keyring: KeyringHolder;
  /**
   * The clock, in ms since the epoch.
   *
   * @default {Date.now}
   */
  readonly now?: () => number;
};

/**
 * Verifies the request's signature and sets `key` and `deliveryId`. A trigger's key must be
 * allowed its op (403 `op_not_allowed`); a read's signature must not have been used before
 * (401 `signature_replayed`).
 *
 * @param options What is signed, the keys and the clock.
 * @returns The middleware.
 * @throws {Problem} `signature_missing`, `signature_invalid`, `signature_expired`,
 * `signature_replayed` or `op_not_allowed`.
 * @example
 * ```ts ignore
 * jobs.get("/:id", webhookAuth({ keyring, signs: "read", seen: new SeenReads() }), handler);
 * ```
 */
export function webhookAuth(options: WebhookAuthOptions): MiddlewareHandler<AppEnv> {
  const { keyring, now = Date.now } = options;
  return async function webhookAuth(c, next) {
    const content = options.signs === "body" ? c.get("body") : readContent(c.req.url);
    const verified = await verifySignature(c.req.raw.headers, content, {
      keys: keyring.current.keys,
      nowSeconds: Math.floor(now() / 1000),
    });
    if (!verified.ok) throw new Problem(verified.code, verified.detail);
    const { key, deliveryId } = verified;
    if (options.signs === "read" && !options.seen.use(key.id, deliveryId, now())) {
      throw new Problem(
        "signature_replayed",
        `Read "${deliveryId}" was already made; sign each read with a new webhook-id`,
      );
    }
    c.set("key", key);
    c.set("deliveryId", deliveryId);
    const op = options.signs === "body" ? c.get("op").name : undefined;
    if (op !== undefined && !mayTrigger(key, op)) {
      throw new Problem("op_not_allowed", `Key "${key.id}" may not trigger "${op}"`);
    }
    await next();
  };
}
