/**
 * The one message schema between the listener (network, unprivileged) and the executor (keys,
 * journal, children; no IP network). The listener parses HTTP and forwards each request as one
 * JSON line on its own Unix-socket connection; the executor answers with one line holding the
 * head and the whole body, or (an event stream, a body over {@linkcode CHUNK_BYTES}) with a head
 * line, body chunk lines and an end line. Both sides validate every line with these schemas and
 * cap its size, so a compromised listener can send nothing but a well-formed request, whose
 * signature the executor then checks itself.
 *
 * @module
 */
import { z } from "zod";

/** Largest request body the receiver accepts. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Largest body chunk in one line; longer bodies are split. */
export const CHUNK_BYTES = 48 * 1024;

/** Largest line either side reads: a full request (body in base64 plus headers) fits. */
export const MAX_LINE_BYTES = 192 * 1024;

/** Request headers the listener forwards; the app reads nothing else. */
export const FORWARDED_HEADERS = [
  "accept",
  // A metrics scrape's bearer token (Prometheus cannot sign): the executor never logs it.
  "authorization",
  "cache-control",
  "content-type",
  "last-event-id",
  "prefer",
  "webhook-id",
  "webhook-signature",
  "webhook-timestamp",
  "x-request-id",
] as const;

const HEADER_NAME = /^[a-z0-9-]{1,64}$/;
/** Reply headers: whatever the app answers, each name once or more, bounded. */
const Headers = z.array(z.tuple([z.string().regex(HEADER_NAME), z.string().max(8192)])).max(64);
/**
 * Request headers: only the ones the listener forwards, each at most once, so a compromised
 * listener cannot hand the app a header it would not have passed on.
 */
const RequestHeaders = z.array(z.tuple([z.enum(FORWARDED_HEADERS), z.string().max(8192)]))
  .max(FORWARDED_HEADERS.length)
  .refine((all) => new Set(all.map(([name]) => name)).size === all.length, "a header twice");
const base64 = (maxBytes: number) => z.base64().max(Math.ceil(maxBytes / 3) * 4);

/** One HTTP request, as the listener forwards it. */
export const BridgeRequest = z.strictObject({
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
  /** Path and query, exactly as received. */
  path: z.string().max(4096).regex(/^\/[\x21-\x7e]*$/),
  headers: RequestHeaders,
  body: base64(MAX_BODY_BYTES),
});
/** A request line, decoded. */
export type BridgeRequest = z.infer<typeof BridgeRequest>;

const Status = z.int().min(100).max(599);

/**
 * What the executor answers: a whole answer in one line, or line by line a head, then chunks,
 * then the end. One line is the usual case, and it costs each side one encode and one parse
 * instead of three.
 */
export const BridgeReply = z.union([
  z.strictObject({ status: Status, headers: Headers, body: base64(CHUNK_BYTES) }),
  z.strictObject({ status: Status, headers: Headers }),
  z.strictObject({ chunk: base64(CHUNK_BYTES) }),
  z.strictObject({ end: z.literal(true) }),
]);
/** A reply line, decoded. */
export type BridgeReply = z.infer<typeof BridgeReply>;

/** Encodes bytes as base64 for a line (the platform's own encoder). */
export function toBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** Decodes a validated base64 field (the platform's own decoder). */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.fromBase64(text);
}

/** A name in {@linkcode FORWARDED_HEADERS}. */
const FORWARDED = new Set<string>(FORWARDED_HEADERS);

/**
 * The headers the app reads, from raw header lines (`node:http`'s `rawHeaders`: name, value,
 * name, value...), in {@linkcode FORWARDED_HEADERS} order. As a `Headers` object reads them:
 * names in any case, a repeated header's values joined with ", ", spaces and tabs around a value
 * dropped.
 *
 * @example
 * ```ts
 * import { forwardedHeaders } from "./bridge.ts";
 * import assert from "node:assert/strict";
 * const raw = ["Webhook-Id", " m1", "Cookie", "c", "prefer", "wait=5", "Prefer", "x"];
 * assert.deepEqual(forwardedHeaders(raw), [["prefer", "wait=5, x"], ["webhook-id", "m1"]]);
 * ```
 */
export function forwardedHeaders(raw: readonly string[]): [string, string][] {
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!FORWARDED.has(name)) continue;
    const value = raw[i + 1]!.replace(/^[\t ]+|[\t ]+$/g, "");
    const before = values.get(name);
    values.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  const kept: [string, string][] = [];
  for (const name of FORWARDED_HEADERS) {
    const value = values.get(name);
    if (value !== undefined) kept.push([name, value]);
  }
  return kept;
}

/**
 * The forwarded request as the listener builds it from an HTTP request, validated.
 *
 * @param headers The forwarded ones ({@linkcode forwardedHeaders}).
 * @throws {z.ZodError} When the method, path or a header is outside the schema.
 *
 * @example
 * ```ts
 * import { bridgeRequest, BridgeRequest, forwardedHeaders } from "./bridge.ts";
 * import assert from "node:assert/strict";
 * const headers = forwardedHeaders(["webhook-id", "m1", "cookie", "dropped"]);
 * const line = bridgeRequest("POST", "/hooks/sensors", headers, new TextEncoder().encode("{}"));
 * assert.deepEqual(BridgeRequest.parse(line).headers, [["webhook-id", "m1"]]);
 * ```
 */
export function bridgeRequest(
  method: string,
  path: string,
  headers: [string, string][],
  body: Uint8Array,
): BridgeRequest {
  return BridgeRequest.parse({ method, path, headers, body: toBase64(body) });
}
