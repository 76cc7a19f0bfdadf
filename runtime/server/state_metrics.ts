/**
 * The receiver's state as gauges, read at scrape time: jobs waiting and running, finished jobs
 * whose result waits for the journal, and the pool's children by op and state.
 *
 * Needs no permissions.
 *
 * @module
 */
import { Gauge, type Registry } from "prom-client";

/** The receiver's state at one moment. */
export interface ReceiverState {
  /** Jobs running and waiting (`Scheduler.load`). */
  readonly load: { readonly running: number; readonly queued: number };
  /** Finished jobs whose result waits in memory for the journal (`Scheduler.unwritten`). */
  readonly unwritten: number;
  /** The pool's children of each op, by state; empty without a pool. */
  readonly pool: readonly {
    readonly op: string;
    readonly starting: number;
    readonly ready: number;
    readonly busy: number;
  }[];
}

/**
 * Adds the state gauges to a registry made for one scrape.
 *
 * @param registry The scrape's registry.
 * @param state What the receiver holds now.
 * @example
 * ```ts
 * import { Registry } from "prom-client";
 * import { stateMetrics } from "./state_metrics.ts";
 * import assert from "node:assert/strict";
 * const registry = new Registry();
 * stateMetrics(registry, { load: { running: 1, queued: 2 }, unwritten: 0, pool: [] });
 * assert.match(await registry.metrics(), /^rootfence_queued_jobs 2$/m);
 * ```
 */
export function stateMetrics(registry: Registry, state: ReceiverState): void {
  const gauge = (name: string, help: string, value: number) =>
    new Gauge({ name, help, registers: [registry] }).set(value);
  gauge("rootfence_queued_jobs", "Jobs waiting to run (queue depth)", state.load.queued);
  gauge("rootfence_running_jobs", "Jobs running now", state.load.running);
  gauge(
    "rootfence_unwritten_jobs",
    "Finished jobs whose result waits in memory because the journal cannot be written",
    state.unwritten,
  );
  const children = new Gauge({
    name: "rootfence_pool_children",
    help: "Pre-started fenced children, by op and state (starting, ready, busy)",
    labelNames: ["op", "state"] as const,
    registers: [registry],
  });
  for (const { op, ...states } of state.pool) {
    for (const [name, count] of Object.entries(states)) children.set({ op, state: name }, count);
  }
}
