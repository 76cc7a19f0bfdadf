/**
 * `GET /metrics`: the receiver and the host in the Prometheus text format (0.0.4), for a scraper
 * that holds a metrics token of the keys file (`Authorization: Bearer`). Each scrape builds its
 * own registry of the receiver's state and the host's last reads, merged with the event
 * counters that live as long as the executor. A host read that fails is a series saying so,
 * never an error that would hide the receiver's metrics.
 *
 * @module
 */
import { Hono } from "hono";
import { Registry } from "prom-client";
import type { AppEnv } from "../context.ts";
import { hostMetrics } from "../host_metrics.ts";
import type { HostReadings } from "../host_readings.ts";
import type { KeyringHolder } from "../keyring_holder.ts";
import { metricsAuth } from "../middleware/metrics_auth.ts";
import { Problem } from "../problems.ts";
import type { ReceiverMetrics } from "../receiver_metrics.ts";
import type { Scheduler } from "../scheduler.ts";
import { type ReceiverState, stateMetrics } from "../state_metrics.ts";

/** What the metrics come from, besides the scheduler. */
export interface MetricsDeps {
  /** The event counters (jobs, durations, problems, journal errors). */
  readonly receiver: ReceiverMetrics;
  /** The host reads; without them, no host series. */
  readonly host?: HostReadings;
  /** The pool's children now; without it, none. */
  pool?(): ReceiverState["pool"];
}

/** Collaborators of {@linkcode metricsRoutes}. */
export interface MetricsRoutesDeps {
  readonly keyring: KeyringHolder;
  readonly scheduler: Scheduler;
  readonly metrics: MetricsDeps;
  /** One JSON log line. */
  log(line: Record<string, unknown>): void;
  /** @default {Date.now} */
  now?(): number;
}

/**
 * The metrics route, to mount at `/`.
 *
 * @param deps The keys, the scheduler, the metrics' sources and the log.
 * @returns The routes.
 * @example
 * ```ts ignore
 * app.route("/", metricsRoutes({ keyring, scheduler, metrics: { receiver }, log }));
 * ```
 */
export function metricsRoutes(deps: MetricsRoutesDeps): Hono<AppEnv> {
  const { keyring, scheduler, metrics, log, now = Date.now } = deps;
  const routes = new Hono<AppEnv>();
  routes.get("/metrics", metricsAuth({ keyring }), async function scrape(c) {
    const state = new Registry();
    stateMetrics(state, {
      load: scheduler.load,
      unwritten: scheduler.unwritten,
      pool: metrics.pool?.() ?? [],
    });
    const registries = [metrics.receiver.registry, state];
    if (metrics.host !== undefined) {
      const reads = await metrics.host.read();
      const host = new Registry();
      try {
        hostMetrics(host, reads, now());
        registries.push(host);
      } catch (error) {
        // A reading nobody foresaw must not hide the receiver's own metrics.
        log({ t: new Date(now()).toISOString(), kind: "error", message: String(error) });
      }
    }
    const text = await Registry.merge(registries).metrics();
    return c.body(text, 200, { "Content-Type": state.contentType, "Cache-Control": "no-store" });
  });
  routes.all("/metrics", function getOnly() {
    throw new Problem("method_not_allowed", "Use GET for /metrics");
  });
  return routes;
}
