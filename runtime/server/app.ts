/**
 * The HTTP API on Hono, composed from its route modules and named middleware. Data flow of a
 * trigger: request → verify (raw bytes) → validate → journal → scheduler → fenced launcher
 * (`routes/hooks.ts`); signed reads are `routes/jobs.ts`; health and the OpenAPI document are
 * `routes/system.ts`; the Prometheus scrape is `routes/metrics.ts`. Every expected failure is a thrown `Problem`, answered by the one error
 * handler (`middleware/problem_handler.ts`).
 *
 * @module
 */
import { Hono } from "hono";
import type { OpSettings } from "../../ops/types.ts";
import type { AppEnv } from "./context.ts";
import type { Journal } from "./journal.ts";
import type { KeyringHolder } from "./keyring_holder.ts";
import { problemHandler } from "./middleware/problem_handler.ts";
import { requestLog } from "./middleware/request_log.ts";
import { Problem } from "./problems.ts";
import { hookRoutes } from "./routes/hooks.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { type MetricsDeps, metricsRoutes } from "./routes/metrics.ts";
import { ReceiverMetrics } from "./receiver_metrics.ts";
import { systemRoutes } from "./routes/system.ts";
import type { Scheduler } from "./scheduler.ts";

/** Collaborators of the app; tests pass their own. */
export interface AppDeps {
  readonly scheduler: Scheduler;
  readonly journal: Journal;
  /** The keys in force; the executor swaps them on SIGHUP. */
  readonly keyring: KeyringHolder;
  readonly settings: OpSettings;
  /** One JSON log line; never a secret, a signature or a raw body. */
  log(line: Record<string, unknown>): void;
  /** @default {Date.now} */
  now?(): number;
  /** @default {65536} */
  readonly maxBodyBytes?: number;
  /** Aborted when the receiver stops: open event streams end. */
  readonly closing?: AbortSignal;
  /**
   * What `GET /metrics` reports.
   * @default {fresh event counters, no host reads and no pool}
   */
  readonly metrics?: MetricsDeps;
}

/**
 * Builds the app.
 *
 * @param deps The scheduler, journal, keys, settings and log.
 * @returns The app; serve its `fetch`, or call `app.request()` in tests.
 * @example
 * ```ts ignore
 * const keyring = new KeyringHolder(await loadKeys(keysFile));
 * const app = createApp({ scheduler, journal, keyring, settings, log: console.log });
 * Deno.serve({ hostname: "127.0.0.1", port: 8787 }, app.fetch);
 * ```
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { now = Date.now } = deps;
  const log = (line: Record<string, unknown>) => deps.log(line);
  const metrics = deps.metrics ?? { receiver: new ReceiverMetrics() };
  const rejected = (code: string) => metrics.receiver.rejected(code);
  return new Hono<AppEnv>()
    .use(requestLog({ log, now }))
    .onError(problemHandler({ log, now, rejected }))
    .notFound(() => {
      throw new Problem("not_found", "No such endpoint");
    })
    .route("/", systemRoutes(deps))
    .route("/", metricsRoutes({ ...deps, metrics, log, now }))
    .route("/hooks", hookRoutes({ ...deps, now }))
    .route("/jobs", jobRoutes({ ...deps, now }));
}
