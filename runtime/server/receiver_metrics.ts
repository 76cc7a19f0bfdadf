/**
 * The receiver's own metrics that count events since the executor started: jobs by op and the
 * status they ended in, how long each run took, requests answered with a problem (by its stable
 * code) and journal errors. Jobs and journal errors are seen where they are already recorded,
 * the one structured log line each transition and each journal error writes, so the scheduler
 * and the journal need no instrumentation of their own; problems are seen by the one error
 * handler. What is a state, not an event (queue, running jobs, pool), is read at scrape time
 * (`state_metrics.ts`).
 *
 * Needs no permissions.
 *
 * @module
 */
import { Counter, Histogram, Registry } from "prom-client";

/** Run durations, in seconds: a sensors read takes milliseconds, a golden LXC minutes. */
export const DURATION_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
  600,
  1800,
];

const FINAL = new Set(["succeeded", "failed", "timed_out", "interrupted"]);

/**
 * The event metrics, in one registry of their own.
 *
 * @example
 * ```ts
 * import { ReceiverMetrics } from "./receiver_metrics.ts";
 * import assert from "node:assert/strict";
 * const metrics = new ReceiverMetrics();
 * metrics.observe({ kind: "job", event: "finished", op: "sensors", status: "succeeded",
 *   durationMs: 12 });
 * metrics.rejected("queue_full");
 * const text = await metrics.registry.metrics();
 * assert.match(text, /^rootfence_jobs_total\{op="sensors",status="succeeded"\} 1$/m);
 * assert.match(text, /^rootfence_rejected_requests_total\{code="queue_full"\} 1$/m);
 * ```
 */
export class ReceiverMetrics {
  /** The registry these metrics live in; merge it with the per-scrape one. */
  readonly registry: Registry = new Registry();
  readonly #jobs = new Counter({
    name: "rootfence_jobs_total",
    help: "Jobs that reached a final status since the executor started, by op and status " +
      "(jobs served by another job's run included)",
    labelNames: ["op", "status"] as const,
    registers: [this.registry],
  });
  readonly #durations = new Histogram({
    name: "rootfence_job_duration_seconds",
    help: "How long each run took, from its start to its end, by op and final status (runs " +
      "only: a job served by another job's run is not a run)",
    labelNames: ["op", "status"] as const,
    buckets: [...DURATION_BUCKETS],
    registers: [this.registry],
  });
  readonly #rejected = new Counter({
    name: "rootfence_rejected_requests_total",
    help: "Requests the executor answered with a problem, by its stable code",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly #journalErrors = new Counter({
    name: "rootfence_journal_errors_total",
    help: "Journal writes that failed (each is retried or answered 503 journal_unavailable)",
    registers: [this.registry],
  });

  constructor() {
    // Present from the first scrape, so rate() and alerts see 0 before the first error.
    this.#journalErrors.inc(0);
  }

  /**
   * Counts what one log line records: a job that finished (`kind: "job"`, `event: "finished"`)
   * or a journal error (`kind: "journal_error"`). Every other line is ignored.
   *
   * @param line A log line, as the executor writes it.
   */
  observe(line: Readonly<Record<string, unknown>>): void {
    if (line.kind === "journal_error") {
      this.#journalErrors.inc();
      return;
    }
    if (line.kind !== "job" || line.event !== "finished") return;
    const { op, status, durationMs, servedBy } = line;
    if (typeof op !== "string" || typeof status !== "string" || !FINAL.has(status)) return;
    this.#jobs.inc({ op, status });
    if (servedBy === undefined && typeof durationMs === "number" && durationMs >= 0) {
      this.#durations.observe({ op, status }, durationMs / 1000);
    }
  }

  /**
   * Counts a request answered with a problem.
   *
   * @param code Its stable code.
   */
  rejected(code: string): void {
    this.#rejected.inc({ code });
  }
}
