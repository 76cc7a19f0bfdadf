/**
 * A trigger's body: `application/json`, at most a bounded size, kept as raw bytes. It is parsed
 * only after its signature holds (`webhook_auth.ts`, then `valid_input.ts`), since the
 * signature covers the bytes exactly as received.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../context.ts";
import { Problem } from "../problems.ts";

/** Options of {@linkcode jsonBody}. */
export interface JsonBodyOptions {
  /**
   * The largest body read, in bytes.
   *
   * @default {65536}
   */
  readonly maxBytes?: number;
}

/**
 * Sets `body` to the request's raw bytes (the ones the executor hands the app beside the
 * request, else the request's own), or refuses another content type with 415 `not_json` and a
 * larger body with 413 `body_too_large`.
 *
 * @param options The size bound.
 * @returns The middleware.
 * @throws {Problem} `not_json` or `body_too_large`.
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { AppEnv } from "../context.ts";
 * import { jsonBody } from "./json_body.ts";
 * import assert from "node:assert/strict";
 * const app = new Hono<AppEnv>().post("/", jsonBody(), (c) => c.text(String(c.var.body.length)));
 * const response = await app.request("/", {
 *   method: "POST",
 *   body: "{}",
 *   headers: { "content-type": "application/json" },
 * });
 * assert.equal(await response.text(), "2");
 * ```
 */
export function jsonBody(options: JsonBodyOptions = {}): MiddlewareHandler<AppEnv> {
  const { maxBytes = 64 * 1024 } = options;
  const tooLarge = () => new Problem("body_too_large", `Body is larger than ${maxBytes} bytes`);
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async function jsonBody(c, next) {
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      throw new Problem("not_json", `Content-Type is "${type}", not application/json`);
    }
    const given = c.env?.body;
    if (given !== undefined) {
      if (given.length > maxBytes) throw tooLarge();
      c.set("body", given);
      return await next();
    }
    // The app served on its own (`app.request()` in tests, `Deno.serve`): a bounded read.
    await limit(c, async () => {
      c.set("body", new Uint8Array(await c.req.arrayBuffer()));
      await next();
    });
  };
}
