/**
 * Signing requests for the receiver: triggers are signed over their body, reads over
 * `GET <path and query>`. Used by `deno task send` and by tests.
 *
 * @module
 */
import { signStandard } from "./server/signature.ts";

/** What to sign. */
export interface SignOptions {
  /** The `whsec_` secret. */
  readonly secret: string;
  /** The JSON body of a trigger; reads have none. */
  readonly body?: string;
  /** @default {a fresh random id} */
  readonly id?: string;
  /** Unix seconds. @default {now} */
  readonly timestamp?: number;
  readonly headers?: Record<string, string>;
}

/**
 * Builds a signed request: a `POST` with a JSON body when `body` is given, else a signed `GET`.
 *
 * @example
 * ```ts
 * import { signedRequest } from "./client.ts";
 * import assert from "node:assert/strict";
 * const request = await signedRequest("http://127.0.0.1:8787/hooks/sensors", {
 *   secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
 *   body: "{}",
 * });
 * assert.match(request.headers.get("webhook-signature")!, /^v1,/);
 * ```
 */
export async function signedRequest(url: string, options: SignOptions): Promise<Request> {
  const id = options.id ?? `msg_${crypto.randomUUID()}`;
  const ts = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const target = new URL(url);
  const content = options.body ?? `GET ${target.pathname}${target.search}`;
  const signature = await signStandard(options.secret, id, ts, new TextEncoder().encode(content));
  const headers: Record<string, string> = {
    "webhook-id": id,
    "webhook-timestamp": ts,
    "webhook-signature": signature,
    ...(options.body === undefined ? {} : { "content-type": "application/json" }),
    ...options.headers,
  };
  return options.body === undefined
    ? new Request(url, { headers })
    : new Request(url, { method: "POST", body: options.body, headers });
}
