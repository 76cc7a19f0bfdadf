/**
 * Jobs as the HTTP API shows them: ISO timestamps, `jobId` rather than the row's `id`, and in a
 * list only the summary.
 *
 * @module
 */
import type { Job, JobSummary } from "./journal.ts";

/** The fields a job and its summary share, as the API shows them. */
function headView(job: Omit<JobSummary, "errorCode">): Record<string, unknown> {
  const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString();
  return {
    jobId: job.id,
    op: job.op,
    status: job.status,
    keyId: job.keyId,
    deliveryId: job.deliveryId,
    createdAt: iso(job.createdAt),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
  };
}

/**
 * A job as the API shows it: its head, its input, its result, and `servedBy`: the job whose run
 * serves it (its own id when it runs itself; another's when an identical read's run served it).
 *
 * @param job A journaled job.
 * @returns The JSON view.
 */
export function jobView(job: Job): Record<string, unknown> {
  return {
    ...headView(job),
    input: job.input,
    result: job.result,
    servedBy: job.servedBy ?? job.id,
  };
}

/**
 * How a job looks in a list: a summary; `GET /jobs/<id>` has the whole job.
 *
 * @param job A journaled job's summary.
 * @returns The JSON view, with `errorCode` only when the job has one.
 */
export function summaryView(job: JobSummary): Record<string, unknown> {
  return {
    ...headView(job),
    ...(job.errorCode === null ? {} : { errorCode: job.errorCode }),
  };
}
