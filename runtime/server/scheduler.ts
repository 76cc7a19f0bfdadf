/**
 * Runs accepted jobs: a global limit on running ops, a bounded queue, and per-resource
 * serialisation (no two jobs sharing a resource key run at once). Identical reads share one run
 * (single flight, see `shared_runs.ts`): each keeps its own job, the host command runs once.
 * Every transition, and every progress line, goes to the journal before a client hears of it:
 * a held read (see `Journal.accept`) is written once, at its end, unless an answer names it first.
 *
 * @module
 */
import { SCHEDULER_DEFAULTS } from "../defaults.ts";
import type { Invocation } from "../process/launcher.ts";
import type { Progress } from "../process/protocol.ts";
import { EVENT_IDS } from "./job_events.ts";
import type {
  Accepted,
  Job,
  JobStatus,
  Journal,
  NewJob,
  ProgressRow,
  RunningProcess,
} from "./journal.ts";
import { FINAL_STATUSES } from "./journal.ts";
import { ProgressLog } from "./progress_log.ts";
import { type Flight, SharedRuns, shareKey, type Sharing } from "./shared_runs.ts";

/** A job's life as events, each with its id (see `job_events.ts`). */
export type JobEvent =
  | { readonly event: "queued" | "started" | "finished"; readonly id: number; readonly job: Job }
  | {
    readonly event: "progress";
    readonly id: number;
    readonly job: Job;
    /** The stored line, or the truncation marker. */
    readonly row: ProgressRow;
  };

/** Collaborators and limits of a {@linkcode Scheduler}. */
export interface SchedulerOptions {
  readonly journal: Journal;
  /**
   * Runs one job; aborting the signal must kill it. `progress` takes its progress lines as they
   * come (an op that streams progress); they are journaled and told to the job's watchers.
   */
  run(job: Job, signal: AbortSignal, progress: (progress: Progress) => void): Promise<Invocation>;
  /** @default {4} */
  readonly maxRunning?: number;
  /** @default {64} */
  readonly maxQueued?: number;
  /** One JSON log line. */
  log(line: Record<string, unknown>): void;
  /** @default {Date.now} */
  now?(): number;
  /**
   * Looks at and kills process groups, for what a crash left running; without it, recovery
   * does not wait for orphans.
   */
  readonly groups?: ProcessGroups;
  /**
   * Whether identical jobs of an op may share one run: a read-only op's only (running it again
   * changes nothing, and its answer is the same for every caller). Jobs of any other op always
   * run on their own, whatever their trigger asks.
   * @default {() => false}
   */
  shares?(op: string): boolean;
}

/** What the scheduler may do to a process group (the launcher does it). */
export interface ProcessGroups {
  alive(pgid: number): Promise<boolean>;
  kill(pgid: number): Promise<void>;
  /** When the machine booted, in ms since the epoch (to the second). */
  boot(): number;
}

/** Boot times closer than this are the same boot (uptime is read to the second). */
const SAME_BOOT_MS = 60_000;

/** The outcome of {@linkcode Scheduler.submit}. */
export type Submitted = Accepted | { readonly kind: "queue_full" } | {
  readonly kind: "shutting_down";
};

interface Running {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

function statusOf(invocation: Invocation): JobStatus {
  if (invocation.ok) return "succeeded";
  if (invocation.error?.code === "timeout") return "timed_out";
  if (invocation.error?.code === "interrupted") return "interrupted";
  return "failed";
}

/** The job runner. */
export class Scheduler {
  readonly #journal: Journal;
  readonly #runJob: SchedulerOptions["run"];
  readonly #maxRunning: number;
  readonly #maxQueued: number;
  readonly #log: SchedulerOptions["log"];
  readonly #now: () => number;
  readonly #queue: Job[] = [];
  readonly #running = new Map<string, Running>();
  readonly #busy = new Set<string>();
  readonly #listeners = new Map<string, Set<(event: JobEvent) => void>>();
  readonly #groups: ProcessGroups | undefined;
  readonly #shares: (op: string) => boolean;
  readonly #shared: SharedRuns;
  readonly #progress: ProgressLog;
  #accepting = true;
  /** The journal refused a queued job's start: nothing may start before it is retried. */
  #startRefused = false;
  #unwritten = 0;
  /** Aborted when shutdown begins: every `waitFor` answers with the state it has then. */
  readonly #draining = new AbortController();

  /** @param options Journal, runner and limits. */
  constructor(options: SchedulerOptions) {
    const {
      maxRunning = SCHEDULER_DEFAULTS.maxRunning,
      maxQueued = SCHEDULER_DEFAULTS.maxQueued,
      now = Date.now,
      shares = () => false,
    } = options;
    this.#groups = options.groups;
    this.#shares = shares;
    // One run serves at most a queue's worth of others, so followers stay bounded too.
    this.#shared = new SharedRuns({ maxFollowers: maxQueued });
    if (!(maxRunning >= 1 && maxQueued >= 0)) {
      throw new RangeError("Cannot schedule: need maxRunning >= 1 and maxQueued >= 0");
    }
    this.#journal = options.journal;
    this.#runJob = options.run;
    this.#maxRunning = maxRunning;
    this.#maxQueued = maxQueued;
    this.#log = options.log;
    this.#now = now;
    this.#progress = new ProgressLog({
      journal: this.#journal,
      log: this.#log,
      now,
      tell: (job, row) => this.#tell({ event: "progress", id: row.seq, job, row }),
    });
  }

  /** Whether new jobs are taken. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** How many jobs run and wait right now. */
  get load(): { running: number; queued: number } {
    return { running: this.#running.size, queued: this.#queue.length };
  }

  /**
   * After a restart: jobs that were running are recorded as `interrupted`, queued jobs are
   * queued again. Call once, before taking requests.
   */
  recover(): { interrupted: Job[]; requeued: number; orphans: number } {
    const orphans = this.#groups === undefined ? [] : this.#journal.runningProcesses(this.#now());
    const interrupted = this.#journal.interruptRunning(this.#now());
    // Nobody watches yet: a stream reads these jobs' events, progress included, from the journal.
    for (const job of interrupted) this.#transition("finished", job);
    // What a crash left running keeps its resources until its processes are gone, and its
    // deadline still holds: the next job on the same vmid or disk must not overlap it.
    for (const orphan of orphans) {
      for (const key of orphan.resourceKeys) this.#busy.add(key);
      void this.#watchOrphan(orphan);
    }
    const queued = this.#journal.queued();
    // Every queued run is open before any job it serves is looked at: `created_at` is the wall
    // clock's, and a clock stepped back may list a job before the run it joined.
    for (const job of queued) {
      if (job.servedBy === null && this.#shares(job.op)) this.#shared.lead(shareKey(job), job);
    }
    let requeued = 0;
    for (const job of queued) {
      // A job a queued run serves waits for that run again; it never runs on its own.
      const flight = job.servedBy === null ? undefined : this.#shared.flightOf(job.servedBy);
      if (flight !== undefined) {
        this.#shared.follow(flight, job);
        continue;
      }
      // A job whose run is gone (not queued) runs on its own.
      if (job.servedBy !== null && this.#shares(job.op)) this.#shared.lead(shareKey(job), job);
      this.#queue.push(job);
      requeued++;
    }
    this.#pump();
    return { interrupted, requeued, orphans: orphans.length };
  }

  async #watchOrphan(orphan: RunningProcess): Promise<void> {
    const groups = this.#groups!;
    const note = (processes: "running" | "gone"): boolean => {
      try {
        this.#journal.markProcesses(orphan.jobId, processes, this.#now());
        return true;
      } catch (error) {
        this.#log({
          t: new Date(this.#now()).toISOString(),
          kind: "journal_error",
          jobId: orphan.jobId,
          message: String(error),
        });
        return false;
      }
    };
    // After a reboot the pgid names some other process group: never touch it.
    const rebooted = orphan.boot === null || Math.abs(groups.boot() - orphan.boot) > SAME_BOOT_MS;
    let killed = false;
    let noted = false;
    for (;;) {
      try {
        if (rebooted || !await groups.alive(orphan.pgid)) break;
        if (!noted) note("running");
        noted = true;
        if (!killed && this.#now() >= orphan.deadline) {
          await groups.kill(orphan.pgid);
          killed = true;
        }
      } catch (error) {
        // Not knowing is not "gone": the resources stay taken and the check runs again.
        this.#log({
          t: new Date(this.#now()).toISOString(),
          kind: "unhandled",
          message: String(error),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Until "gone" is written, the next executor would watch this pgid again: keep trying.
    const noteGone = () => {
      if (!note("gone") && !this.#draining.signal.aborted) setTimeout(noteGone, 1000);
    };
    noteGone();
    this.#log({
      t: new Date(this.#now()).toISOString(),
      kind: "orphan_gone",
      jobId: orphan.jobId,
      pgid: orphan.pgid,
      killedAtDeadline: killed,
      rebooted,
    });
    for (const key of orphan.resourceKeys) this.#busy.delete(key);
    this.#pump();
  }

  /**
   * Accepts a job: on disk first, then queued. Redeliveries return the job they created. A job
   * of an op that {@linkcode SchedulerOptions.shares} may instead join an identical queued run
   * (or, as `sharing` allows, a recent one, or be answered by one that finished): it then gets a
   * job of its own whose `servedBy` names the job that runs.
   *
   * @param job The job.
   * @param sharing What its trigger allows (`Cache-Control`).
   * @param options `hold`: the client waits for the end, so a read-only job that runs for itself
   * may be written only then (see {@linkcode Journal.accept}); whoever answers before its end
   * calls {@linkcode Journal.persist} first.
   */
  submit(job: NewJob, sharing: Sharing = "queued", options: { hold?: boolean } = {}): Submitted {
    const prior = this.#journal.findDelivery(job.keyId, job.deliveryId);
    if (prior !== undefined) {
      // The same body for another op is not a redelivery: signatures cover the body, not the
      // path, so only the op recorded with the delivery may have it.
      const same = prior.bodyHash === job.bodyHash && prior.op === job.op;
      return { kind: same ? "existing" : "conflict", job: prior };
    }
    if (!this.#accepting) return { kind: "shutting_down" };
    const key = this.#shares(job.op) ? shareKey(job) : undefined;
    const share = key === undefined ? undefined : this.#shared.find(key, sharing, this.#now());
    if (share?.kind === "join") return this.#join(job, share.flight);
    const answered = share?.kind === "answer"
      ? this.#journal.acceptAnswered(job, this.#now(), share.jobId)
      : undefined;
    if (answered !== undefined) {
      if (answered.kind === "created") this.#transition("finished", answered.job);
      return answered;
    }
    // A job that can start now is stored as running in one write; any queued job left is
    // blocked on a resource or a slot, so starting this one keeps the pump's order. Not while a
    // queued job waits for the journal to take its start: this one would run before it.
    const startNow = !this.#startRefused && this.#running.size < this.#maxRunning &&
      !job.resourceKeys.some((key) => this.#busy.has(key));
    if (!startNow && this.#queue.length >= this.#maxQueued) return { kind: "queue_full" };
    // One key may fill at most half the queue, so another key's trigger always finds room.
    if (!startNow && this.#queuedBy(job.keyId) >= Math.ceil(this.#maxQueued / 2)) {
      return { kind: "queue_full" };
    }
    const status = startNow ? "running" : "queued";
    const accepted = this.#journal.accept(job, this.#now(), status, null, options.hold);
    if (accepted.kind !== "created") return accepted;
    if (key !== undefined) this.#shared.lead(key, accepted.job);
    this.#transition("queued", accepted.job);
    if (startNow) this.#run(accepted.job);
    else {
      this.#queue.push(accepted.job);
      this.#pump();
    }
    return accepted;
  }

  /** Records a job that an identical run, queued or running, serves. */
  #join(job: NewJob, flight: Flight): Submitted {
    const { leader } = flight;
    const status = leader.status === "queued" ? "queued" : "running";
    const accepted = this.#journal.accept(job, this.#now(), status, leader.id);
    if (accepted.kind !== "created") return accepted;
    this.#shared.follow(flight, accepted.job);
    this.#transition("queued", accepted.job);
    if (status === "running") this.#transition("started", accepted.job);
    return accepted;
  }

  /** Calls `listener` on each later event of a job; returns the unsubscribe function. */
  watch(jobId: string, listener: (event: JobEvent) => void): () => void {
    const set = this.#listeners.get(jobId) ?? new Set();
    set.add(listener);
    this.#listeners.set(jobId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(jobId);
    };
  }

  /**
   * Resolves with the job once it has finished, or with its current state after `ms` or as
   * soon as shutdown begins (a waiting client gets an answer, never a closed connection).
   */
  waitFor(jobId: string, ms: number): Promise<Job | undefined> {
    const current = this.#journal.get(jobId);
    if (
      current === undefined || FINAL_STATUSES.includes(current.status) ||
      this.#draining.signal.aborted
    ) {
      return Promise.resolve(current);
    }
    return new Promise((resolve) => {
      const settle = (job: Job | undefined) => {
        clearTimeout(timer);
        stop();
        this.#draining.signal.removeEventListener("abort", early);
        resolve(job);
      };
      const early = () => settle(this.#journal.get(jobId));
      const timer = setTimeout(early, ms);
      const stop = this.watch(jobId, (event) => {
        if (event.event === "finished") settle(event.job);
      });
      this.#draining.signal.addEventListener("abort", early, { once: true });
    });
  }

  /**
   * Stops taking jobs, lets running ones finish within `graceMs`, then kills the rest (they are
   * recorded as `interrupted`). Queued jobs stay queued on disk for the next start.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#accepting = false;
    this.#draining.abort();
    const all = () => Promise.all([...this.#running.values()].map((r) => r.done));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
    await Promise.race([all(), grace]);
    clearTimeout(timer);
    for (const running of this.#running.values()) running.controller.abort();
    await all();
  }

  #transition(event: "queued" | "started" | "finished", job: Job): void {
    const duration = job.finishedAt !== null && job.startedAt !== null
      ? job.finishedAt - job.startedAt
      : undefined;
    this.#log({
      t: new Date(this.#now()).toISOString(),
      kind: "job",
      event,
      jobId: job.id,
      keyId: job.keyId,
      op: job.op,
      status: job.status,
      ...(duration === undefined ? {} : { durationMs: duration }),
      ...(job.servedBy === null ? {} : { servedBy: job.servedBy }),
    });
    const id = event === "finished" ? this.#progress.end(job.id) : EVENT_IDS[event];
    this.#tell({ event, id, job });
  }

  /** Tells a job's watchers of one event. */
  #tell(event: JobEvent): void {
    for (const listener of [...this.#listeners.get(event.job.id) ?? []]) listener(event);
  }

  #queuedBy(keyId: string): number {
    let count = 0;
    for (const queued of this.#queue) if (queued.keyId === keyId) count++;
    return count;
  }

  #pump(): void {
    if (!this.#accepting) return;
    for (let i = 0; i < this.#queue.length && this.#running.size < this.#maxRunning;) {
      const job = this.#queue[i]!;
      if (job.resourceKeys.some((key) => this.#busy.has(key))) {
        i++;
        continue;
      }
      try {
        this.#start(job);
      } catch (error) {
        // The journal cannot take the start: the job stays queued and the pump tries again.
        this.#log({
          t: new Date(this.#now()).toISOString(),
          kind: "journal_error",
          jobId: job.id,
          message: String(error),
          retryInMs: 1000,
        });
        if (this.#startRefused) return;
        this.#startRefused = true;
        setTimeout(() => {
          this.#startRefused = false;
          this.#pump();
        }, 1000);
        return;
      }
      this.#queue.splice(i, 1);
    }
  }

  #start(queued: Job): void {
    const job = this.#journal.markRunning(queued.id, this.#now());
    this.#run(job);
    for (const follower of this.#shared.started(job)) this.#transition("started", follower);
  }

  /** Runs a job already recorded as running. */
  #run(job: Job): void {
    for (const key of job.resourceKeys) this.#busy.add(key);
    this.#transition("started", job);
    const controller = new AbortController();
    const progress = (line: Progress) => this.#progress.add(job, line);
    const done = this.#runJob(job, controller.signal, progress)
      .catch((error): Invocation => ({
        op: job.op,
        ok: false,
        argv: [],
        error: { code: "child_failed", message: `Cannot run job: ${(error as Error).message}` },
        durationMs: 0,
      }))
      .then((invocation) => {
        this.#running.delete(job.id);
        this.#finish(job, invocation, this.#now());
      });
    this.#running.set(job.id, { controller, done });
  }

  /**
   * Writes a finished job. While the journal cannot be written the result waits in memory,
   * retried every second, and the job's resource keys stay taken: what the journal does not
   * know is finished must not let the next job on that resource start.
   */
  #finish(job: Job, invocation: Invocation, finishedAt: number): void {
    // Its progress is stored before it is final: `finished` comes after the last line.
    this.#progress.store(job.id);
    let finished: Job;
    try {
      finished = this.#journal.markFinished(job.id, statusOf(invocation), invocation, finishedAt);
    } catch (error) {
      this.#log({
        t: new Date(this.#now()).toISOString(),
        kind: "journal_error",
        jobId: job.id,
        message: String(error),
        retryInMs: 1000,
      });
      this.#unwritten++;
      setTimeout(() => {
        this.#unwritten--;
        this.#finish(job, invocation, finishedAt);
      }, 1000);
      // Its slot is free (its resource keys are not): a queued job that can start now must, or
      // a later trigger would start ahead of it.
      this.#pump();
      return;
    }
    for (const key of job.resourceKeys) this.#busy.delete(key);
    this.#transition("finished", finished);
    for (const follower of this.#shared.finished(finished)) this.#transition("finished", follower);
    this.#pump();
  }

  /** Finished jobs whose result waits in memory for the journal to be writable again. */
  get unwritten(): number {
    return this.#unwritten;
  }
}
