/**
 * `GET /jobs`, `GET /jobs/<id>` and `GET /jobs/<id>/events`: signed reads of one key's own jobs.
 * Another key's job is reported as absent, not as forbidden: ids are not an oracle. Event
 * streams are capped per key and in all; each sends the job's history (`job_events.ts`) after
 * the request's `Last-Event-ID`, then its live events, until the job is final.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { findOp } from "../../../ops/mod.ts";
import type { AppEnv } from "../context.ts";
import {
  EVENT_IDS,
  finishedId,
  lastEventId,
  progressEvent,
  stateEvent,
  type WireEvent,
} from "../job_events.ts";
import { jobView, summaryView } from "../job_view.ts";
import { FINAL_STATUSES, type Job, type JobStatus, type Journal } from "../journal.ts";
import type { KeyringHolder } from "../keyring_holder.ts";
import { webhookAuth } from "../middleware/webhook_auth.ts";
import { Problem } from "../problems.ts";
import type { JobEvent, Scheduler } from "../scheduler.ts";
import { SeenReads } from "../seen_reads.ts";

/** How many jobs `GET /jobs` returns at most. */
export const MAX_LIST = 500;
/** Event streams one key may hold open at once. */
export const MAX_STREAMS_PER_KEY = 8;
/** Event streams open at once, all keys together. */
export const MAX_STREAMS = 64;

/** A `Last-Event-ID` as this receiver gives ids: a whole number, no sign, no leading zero. */
export const LAST_EVENT_ID = /^(?:0|[1-9][0-9]{0,8})$/;

/** Progress rows read from the journal at once while a stream catches up. */
const HISTORY_PAGE = 100;

/** Collaborators of {@linkcode jobRoutes}. */
export interface JobRoutesDeps {
  readonly scheduler: Scheduler;
  readonly journal: Journal;
  readonly keyring: KeyringHolder;
  /**
   * The clock, in ms since the epoch.
   *
   * @default {Date.now}
   */
  now?(): number;
  /** Aborted when the receiver stops: open event streams end. */
  readonly closing?: AbortSignal;
  /**
   * One JSON log line (a stream that failed to read its history).
   * @default {no log}
   */
  log?(line: Record<string, unknown>): void;
}

const STATUSES: readonly string[] = [...FINAL_STATUSES, "queued", "running"];

/** The open event streams, per key and in all. */
class StreamSlots {
  readonly #byKey = new Map<string, number>();
  #total = 0;

  /**
   * Takes a slot for `keyId`.
   *
   * @returns Frees the slot.
   * @throws {Problem} `too_many_streams` when the key or everyone holds the most.
   */
  take(keyId: string): () => void {
    const mine = this.#byKey.get(keyId) ?? 0;
    if (mine >= MAX_STREAMS_PER_KEY || this.#total >= MAX_STREAMS) {
      throw new Problem(
        "too_many_streams",
        mine >= MAX_STREAMS_PER_KEY
          ? `Key "${keyId}" already has ${mine} event streams open`
          : `${this.#total} event streams are open`,
        {},
        { "Retry-After": "5" },
      );
    }
    this.#byKey.set(keyId, mine + 1);
    this.#total++;
    return () => {
      this.#total--;
      const left = (this.#byKey.get(keyId) ?? 1) - 1;
      if (left > 0) this.#byKey.set(keyId, left);
      else this.#byKey.delete(keyId);
    };
  }
}

/** The job named by `:id`, if the request's key owns it; sets `jobId` for the log. */
function ownJob(c: Context<AppEnv>, journal: Journal): Job {
  const job = journal.get(c.req.param("id") ?? "");
  if (job === undefined || job.keyId !== c.get("key").id) {
    throw new Problem("job_not_found", "No such job for this key");
  }
  c.set("jobId", job.id);
  return job;
}

/**
 * Where a stream starts: after the request's `Last-Event-ID`, or at the start without one.
 *
 * @throws {Problem} `bad_event_id` for an id that is not one this job has had.
 */
function resumePoint(c: Context<AppEnv>, job: Job, journal: Journal): Resume {
  const lastProgress = job.startedAt === null ? undefined : journal.lastProgress(job.id);
  const header = c.req.header("last-event-id");
  if (header === undefined) return { after: 0, lastProgress };
  const last = lastEventId(job, lastProgress);
  if (!LAST_EVENT_ID.test(header) || Number(header) > last) {
    throw new Problem(
      "bad_event_id",
      `Last-Event-ID is not an event id of this job: give one of 0..${last}, or none for all`,
    );
  }
  return { after: Number(header), lastProgress };
}

/** Where a stream starts, and the job's last progress row when it was read. */
interface Resume {
  readonly after: number;
  readonly lastProgress: number | undefined;
}

/**
 * The events of `job` after `after`, from the journal: the transitions from the job's row as
 * read, the progress rows page by page as they are iterated (a running job may add some
 * meanwhile; the live events repeat those, and the stream skips ids it has sent).
 */
function* history(journal: Journal, job: Job, resume: Resume): Generator<WireEvent> {
  const { after, lastProgress } = resume;
  if (after < EVENT_IDS.queued) yield stateEvent("queued", job, EVENT_IDS.queued);
  if (job.startedAt !== null) {
    if (after < EVENT_IDS.started) yield stateEvent("started", job, EVENT_IDS.started);
    let seq = Math.max(after, EVENT_IDS.started);
    for (;;) {
      const rows = journal.progressAfter(job.id, seq, HISTORY_PAGE);
      for (const row of rows) yield progressEvent(job.id, row);
      if (rows.length < HISTORY_PAGE) break;
      seq = rows.at(-1)!.seq;
    }
  }
  if (FINAL_STATUSES.includes(job.status)) {
    const id = finishedId(lastProgress);
    if (id > after) yield stateEvent("finished", job, id);
  }
}

/** A live event as a stream sends it. */
function wireEvent(event: JobEvent): WireEvent {
  return event.event === "progress"
    ? progressEvent(event.job.id, event.row)
    : stateEvent(event.event, event.job, event.id);
}

/** What {@linkcode streamEvents} needs besides the request. */
interface StreamOptions {
  readonly scheduler: Scheduler;
  readonly journal: Journal;
  readonly resume: Resume;
  readonly release: () => void;
  readonly closing: AbortSignal | undefined;
  readonly log: ((line: Record<string, unknown>) => void) | undefined;
}

/**
 * Streams a job's events after `resume.after` until it finishes, the client goes away or the
 * receiver stops: first its history from the journal, then its live events. Each event goes out
 * once, in id order, with its `id:`.
 */
function streamEvents(c: Context<AppEnv>, job: Job, options: StreamOptions): Response {
  const { scheduler, journal, resume, release, closing, log } = options;
  const pending: JobEvent[] = [];
  let wake = () => {};
  // Subscribe in the same turn as the job was read: no event can fall in between.
  const stop = scheduler.watch(job.id, (event) => {
    pending.push(event);
    wake();
  });
  return streamSSE(c, async (stream) => {
    let closed = false;
    const end = () => {
      closed = true;
      wake();
    };
    stream.onAbort(end);
    if (closing?.aborted) end();
    closing?.addEventListener("abort", end, { once: true });
    let sent = resume.after;
    const send = async (event: WireEvent) => {
      if (event.id <= sent) return;
      await stream.writeSSE({
        id: String(event.id),
        event: event.event,
        data: JSON.stringify(event.data),
      });
      sent = event.id;
    };
    try {
      for (const event of history(journal, job, resume)) {
        if (closed) return;
        await send(event);
      }
      if (FINAL_STATUSES.includes(job.status)) return;
      while (!closed) {
        const event = pending.shift();
        if (event === undefined) {
          await new Promise<void>((resolve) => wake = resolve);
          continue;
        }
        await send(wireEvent(event));
        if (event.event === "finished") return;
      }
    } catch (error) {
      // A client that went away is no failure; otherwise it resumes from the last id it got,
      // and the log says why the stream ended.
      if (!closed) {
        log?.({
          t: new Date().toISOString(),
          kind: "stream_failed",
          jobId: job.id,
          sent,
          message: String(error),
        });
      }
    } finally {
      closing?.removeEventListener("abort", end);
      stop();
      release();
    }
  });
}

/**
 * The read routes, to mount at `/jobs`. Reads are signed like triggers, over
 * `GET <path and query>` instead of a body, and each read signature is good once.
 *
 * @param deps The scheduler, journal and keys.
 * @returns The routes.
 * @example
 * ```ts ignore
 * app.route("/jobs", jobRoutes({ scheduler, journal, keyring }));
 * ```
 */
export function jobRoutes(deps: JobRoutesDeps): Hono<AppEnv> {
  const { scheduler, journal, keyring, now = Date.now, closing, log } = deps;
  const jobs = new Hono<AppEnv>();
  const signedRead = webhookAuth({ keyring, now, signs: "read", seen: new SeenReads() });
  const slots = new StreamSlots();

  jobs.get("/", signedRead, function listJobs(c) {
    const status = c.req.query("status");
    const op = c.req.query("op");
    const limitText = c.req.query("limit") ?? "50";
    if (
      (status !== undefined && !STATUSES.includes(status)) ||
      (op !== undefined && findOp(op) === undefined) || !/^[0-9]{1,4}$/.test(limitText)
    ) {
      throw new Problem("bad_query", "Use op=<op>, status=<status> and limit=1..500");
    }
    const summaries = journal.summaries({
      keyId: c.get("key").id,
      limit: Math.min(Math.max(Number(limitText), 1), MAX_LIST),
      ...(op === undefined ? {} : { op }),
      ...(status === undefined ? {} : { status: status as JobStatus }),
    });
    return c.json({ jobs: summaries.map(summaryView) });
  });

  jobs.get("/:id", signedRead, function getJob(c) {
    return c.json(jobView(ownJob(c, journal)));
  });

  jobs.get("/:id/events", signedRead, function jobEvents(c) {
    const job = ownJob(c, journal);
    const resume = resumePoint(c, job, journal);
    const release = slots.take(c.get("key").id);
    return streamEvents(c, job, { scheduler, journal, resume, release, closing, log });
  });

  for (const path of ["/", "/:id", "/:id/events"]) {
    const shown = `/jobs${path === "/" ? "" : path}`;
    jobs.all(path, function getOnly() {
      throw new Problem("method_not_allowed", `Use GET for ${shown}`);
    });
  }
  return jobs;
}
