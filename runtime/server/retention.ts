/**
 * Retention: finished jobs are kept for a time and up to a count, then pruned in the background,
 * a small batch per turn so requests never wait behind a large delete. Queued and running jobs
 * are never pruned. A pruned job's delivery id could be used again, but only by a signature that
 * is still fresh (±300 s), and retention is measured in days.
 *
 * @module
 */
import type { Journal } from "./journal.ts";

/** What to keep; the receiver's defaults are `RETENTION_DEFAULTS` (defaults.ts). */
export interface Retention {
  /** Finished jobs older than this are pruned. */
  readonly maxAgeMs: number;
  /** At most this many finished jobs are kept (the newest). */
  readonly maxJobs: number;
}

/**
 * Prunes until nothing is left to prune, yielding to the event loop between batches.
 *
 * @returns How many jobs were deleted.
 * @throws What the journal throws (a storage error); the caller logs it and tries later.
 */
export async function pruneJournal(
  journal: Journal,
  retention: Retention,
  now: number,
  batch = 500,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = journal.pruneBatch({
      olderThan: now - retention.maxAgeMs,
      keep: retention.maxJobs,
      batch,
    });
    deleted += n;
    if (n === 0) return deleted;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
