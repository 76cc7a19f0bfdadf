/**
 * Signing requests for the receiver: triggers are signed over their body, reads over
 * `GET <path and query>`. Used by `deno task send` and by tests.
 *
 * @module
 */
import { readContent, signatureHeaders } from "../signing.ts";

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
  const { secret, body, id, timestamp } = options;
  const content = body === undefined ? readContent(url) : new TextEncoder().encode(body);
  const headers: Record<string, string> = {
    ...await signatureHeaders(secret, content, {
      ...(id === undefined ? {} : { id }),
      ...(timestamp === undefined ? {} : { timestamp }),
    }),
    ...(body === undefined ? {} : { "content-type": "application/json" }),
    ...options.headers,
  };
  return body === undefined
    ? new Request(url, { headers })
    : new Request(url, { method: "POST", body, headers });
}
