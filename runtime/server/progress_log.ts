/**
 * Journals running jobs' progress lines in batches and tells their watchers once the lines are
 * stored: a line's event id (its `seq`) is fixed when its row is, so a stream that resumes after
 * a restart finds every line it was told, under the same id. Lines that arrive together (one
 * chunk of output, or within {@linkcode ProgressLogOptions.flushMs}) share one transaction;
 * only ops that stream progress (`progress: true`) ever add any.
 *
 * @module
 */
import type { Progress } from "../process/protocol.ts";
import { EVENT_IDS, finishedId } from "./job_events.ts";
import type { Job, Journal, ProgressRow } from "./journal.ts";

/** Collaborators of a {@linkcode ProgressLog}. */
export interface ProgressLogOptions {
  readonly journal: Journal;
  /** One JSON log line (a batch the journal could not take). */
  log(line: Record<string, unknown>): void;
  /** The clock, in ms since the epoch. */
  now(): number;
  /** Tells a job's watchers of one stored row. */
  tell(job: Job, row: ProgressRow): void;
  /**
   * How long a line may wait for others to share its transaction.
   * @default {50}
   */
  readonly flushMs?: number;
}

interface Pending {
  readonly job: Job;
  readonly lines: { at: number; progress: Progress }[];
}

/** The progress of running jobs, on its way to the journal. */
export class ProgressLog {
  readonly #journal: Journal;
  readonly #log: ProgressLogOptions["log"];
  readonly #now: () => number;
  readonly #tell: ProgressLogOptions["tell"];
  readonly #flushMs: number;
  readonly #pending = new Map<string, Pending>();
  /** The seq of each job's last stored row, while the job runs. */
  readonly #last = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** @param options Journal, log, clock and watchers. */
  constructor(options: ProgressLogOptions) {
    const { flushMs = 50 } = options;
    this.#journal = options.journal;
    this.#log = options.log;
    this.#now = options.now;
    this.#tell = options.tell;
    this.#flushMs = flushMs;
  }

  /** Takes one line (or the marker) of a running job; it is stored within `flushMs`. */
  add(job: Job, progress: Progress): void {
    let pending = this.#pending.get(job.id);
    if (pending === undefined) {
      pending = { job, lines: [] };
      this.#pending.set(job.id, pending);
    }
    pending.lines.push({ at: this.#now(), progress });
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      for (const id of [...this.#pending.keys()]) this.store(id);
    }, this.#flushMs);
  }

  /**
   * Stores a job's waiting lines now, then tells its watchers. Lines the journal cannot take are
   * dropped and logged: nobody was told of them, and the next lines take their ids.
   */
  store(jobId: string): void {
    const pending = this.#pending.get(jobId);
    if (pending === undefined) return;
    this.#pending.delete(jobId);
    let seq = this.#last.get(jobId) ?? EVENT_IDS.firstProgress - 1;
    const rows: ProgressRow[] = pending.lines.map((line) => ({ seq: ++seq, ...line }));
    try {
      this.#journal.addProgress(jobId, rows);
    } catch (error) {
      this.#log({
        t: new Date(this.#now()).toISOString(),
        kind: "journal_error",
        jobId,
        message: String(error),
        droppedProgress: rows.length,
      });
      return;
    }
    this.#last.set(jobId, seq);
    for (const row of rows) this.#tell(pending.job, row);
  }

  /**
   * Forgets a job that has finished ({@linkcode store} its lines first).
   *
   * @returns The id of its `finished` event.
   */
  end(jobId: string): number {
    const last = this.#last.get(jobId);
    this.#last.delete(jobId);
    return finishedId(last);
  }
}
