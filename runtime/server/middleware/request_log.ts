/**
 * One JSON log line per request: who asked for what, how it ended and how long it took. Never a
 * secret, a signature or a body.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";

/** Options of {@linkcode requestLog}. */
export interface RequestLogOptions {
  /** Writes one JSON log line. */
  log(line: Record<string, unknown>): void;
  /**
   * The clock, in ms since the epoch.
   *
   * @default {Date.now}
   */
  now?(): number;
}

/**
 * Gives each request an id (`requestId`, sent back as `X-Request-Id`) and logs it once answered,
 * with the key, op and job the later middleware and handlers set.
 *
 * @param options Where lines go, and the clock.
 * @returns The middleware.
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { requestLog } from "./request_log.ts";
 * import assert from "node:assert/strict";
 * const lines: Record<string, unknown>[] = [];
 * const app = new Hono().use(requestLog({ log: (line) => lines.push(line) }));
 * app.get("/", (c) => c.text("ok"));
 * await app.request("/");
 * assert.equal(lines[0]?.status, 200);
 * ```
 */
export function requestLog(options: RequestLogOptions): MiddlewareHandler<AppEnv> {
  const { log, now = Date.now } = options;
  return function requestLog(c, next) {
    const started = performance.now();
    const requestId = crypto.randomUUID();
    c.set("requestId", requestId);
    c.header("X-Request-Id", requestId);
    return next().finally(() => {
      log({
        t: new Date(now()).toISOString(),
        kind: "request",
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round(performance.now() - started),
        keyId: c.get("key")?.id,
        op: c.get("op")?.name,
        jobId: c.get("jobId"),
      });
    });
  };
}
