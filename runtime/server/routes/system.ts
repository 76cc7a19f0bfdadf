/**
 * `GET /healthz` and `GET /openapi.json`: unsigned, and saying nothing about jobs or keys.
 *
 * @module
 */
import { Hono } from "hono";
import type { OpSettings } from "../../../ops/types.ts";
import type { AppEnv } from "../context.ts";
import { openApiDocument } from "../openapi.ts";
import { Problem } from "../problems.ts";
import type { Scheduler } from "../scheduler.ts";

/** Collaborators of {@linkcode systemRoutes}. */
export interface SystemRoutesDeps {
  readonly scheduler: Scheduler;
  /** The host settings the OpenAPI document's schemas depend on. */
  readonly settings: OpSettings;
}

/**
 * The health and description routes, to mount at `/`.
 *
 * @param deps The scheduler (for draining) and the settings.
 * @returns The routes.
 * @example
 * ```ts ignore
 * app.route("/", systemRoutes({ scheduler, settings }));
 * ```
 */
export function systemRoutes(deps: SystemRoutesDeps): Hono<AppEnv> {
  const { scheduler, settings } = deps;
  const document = openApiDocument(settings);
  const system = new Hono<AppEnv>();
  // A draining receiver takes no new jobs: load balancers and monitors should see that.
  system.get("/healthz", function health(c) {
    return scheduler.accepting ? c.json({ status: "ok" }) : c.json({ status: "draining" }, 503);
  });
  system.get("/openapi.json", function openApi(c) {
    return c.json(document);
  });
  for (const path of ["/healthz", "/openapi.json"]) {
    system.all(path, function getOnly() {
      throw new Problem("method_not_allowed", `Use GET for ${path}`);
    });
  }
  return system;
}
