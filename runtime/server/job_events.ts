/**
 * A job's events as history: `queued` (id 1), `started` (id 2), each stored progress row (its own
 * id, 3 and up), then `finished` (one past the last). Only progress rows are stored as such; the
 * other events are read from the job's row, which holds when each happened. So every id is
 * fixed once given, a stream can resume after any id, and a job journaled before events had
 * ids has the same three as it always streamed.
 *
 * Each event carries the job's state at that moment: `queued` the job as accepted (not started,
 * no result), `started` as it started, a progress event the line and `status: "running"`, and
 * `finished` the job as it ended.
 *
 * @module
 */
import type { Job, ProgressRow } from "./journal.ts";
import { jobView } from "./job_view.ts";

/** Ids of the events every job has. */
export const EVENT_IDS = { queued: 1, started: 2, firstProgress: 3 } as const;

/** What a stream sends of one event. */
export interface WireEvent {
  readonly id: number;
  readonly event: "queued" | "started" | "progress" | "truncated" | "finished";
  readonly data: Record<string, unknown>;
}

/** The id of a job's `finished` event, given the seq of its last progress row. */
export function finishedId(lastProgress: number | undefined): number {
  return (lastProgress ?? EVENT_IDS.started) + 1;
}

/**
 * The id of the last event a job has had so far.
 *
 * @param job The job as read now.
 * @param lastProgress The seq of its last progress row, if any.
 * @example
 * ```ts ignore
 * lastEventId(runningJob, 7); // 7
 * lastEventId(finishedJob, 7); // 8
 * ```
 */
export function lastEventId(job: Job, lastProgress: number | undefined): number {
  if (job.finishedAt !== null) return finishedId(lastProgress);
  if (job.startedAt !== null) return lastProgress ?? EVENT_IDS.started;
  return EVENT_IDS.queued;
}

/** A transition's event, with the job as it was at that moment. */
export function stateEvent(
  event: "queued" | "started" | "finished",
  job: Job,
  id: number,
): WireEvent {
  const then: Job = event === "queued"
    ? { ...job, status: "queued", startedAt: null, finishedAt: null, result: null }
    : event === "started"
    ? { ...job, status: "running", finishedAt: null, result: null }
    : job;
  return { id, event, data: jobView(then) };
}

/** A progress row's event: `progress` for a line, `truncated` for the marker. */
export function progressEvent(jobId: string, row: ProgressRow): WireEvent {
  const head = { jobId, status: "running", at: new Date(row.at).toISOString() };
  return "truncated" in row.progress
    ? { id: row.seq, event: "truncated", data: { ...head, truncated: true } }
    : { id: row.seq, event: "progress", data: { ...head, ...row.progress } };
}
