/**
 * The op a trigger names (`/hooks/:op`), looked up once: later middleware and the handler read
 * it typed from the context.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { findOp } from "../../../ops/mod.ts";
import type { AppEnv } from "../context.ts";
import { Problem } from "../problems.ts";

/**
 * Sets `op` from the `:op` path parameter, or refuses an unknown name with 404 `unknown_op`
 * before anything else is read.
 *
 * @returns The middleware.
 * @throws {Problem} `unknown_op`.
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { AppEnv } from "../context.ts";
 * import { knownOp } from "./known_op.ts";
 * import assert from "node:assert/strict";
 * const app = new Hono<AppEnv>().post("/hooks/:op", knownOp(), (c) => c.text(c.var.op.name));
 * assert.equal(await (await app.request("/hooks/smart", { method: "POST" })).text(), "smart");
 * ```
 */
export function knownOp(): MiddlewareHandler<AppEnv> {
  return function knownOp(c, next) {
    // No early 503 while draining: a redelivery of an accepted job still gets its job back,
    // and submit() refuses only new ones.
    const name = c.req.param("op") ?? "";
    const op = findOp(name);
    if (op === undefined) throw new Problem("unknown_op", `No op named "${name}"`);
    c.set("op", op);
    return next();
  };
}
