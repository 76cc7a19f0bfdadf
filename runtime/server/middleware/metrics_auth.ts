/**
 * Bearer-token authentication for `GET /metrics` (RFC 6750): Prometheus cannot sign a request,
 * so a scrape carries one of the keys file's metrics tokens instead. A token reads metrics only,
 * and a key's secret never reads them. The token is never logged.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";
import type { KeyringHolder } from "../keyring_holder.ts";
import { Problem } from "../problems.ts";

/** Options of {@linkcode metricsAuth}. */
export interface MetricsAuthOptions {
  /** The keys in force, read once per request (a reload swaps them in between). */
  readonly keyring: KeyringHolder;
}

/** What a client is told to send: RFC 6750's challenge. */
const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="rootfence-metrics"' };

/** `Bearer <token>`, the scheme case-insensitive (RFC 9110), one token of b64token characters. */
const BEARER = /^bearer +([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * Lets a request through only with a metrics token of the keys file in force.
 *
 * @param options The keys in force.
 * @returns The middleware.
 * @throws {Problem} `metrics_token_missing` without an `Authorization: Bearer` header,
 * `metrics_token_invalid` for a token that is not one of them (both 401).
 * @example
 * ```ts ignore
 * app.get("/metrics", metricsAuth({ keyring }), handler);
 * ```
 */
export function metricsAuth(options: MetricsAuthOptions): MiddlewareHandler<AppEnv> {
  const { keyring } = options;
  return async function metricsAuth(c, next) {
    const header = c.req.header("authorization");
    if (header === undefined) {
      throw new Problem(
        "metrics_token_missing",
        "Send Authorization: Bearer <a metrics token of the keys file>",
        {},
        CHALLENGE,
      );
    }
    const token = BEARER.exec(header.trim())?.[1];
    if (token === undefined || !(keyring.current.metricsTokens?.accepts(token) ?? false)) {
      throw new Problem(
        "metrics_token_invalid",
        "This is not a metrics token of the keys file in force",
        {},
        CHALLENGE,
      );
    }
    await next();
  };
}
