/**
 * `GET /jobs`, `GET /jobs/<id>` and `GET /jobs/<id>/events`: signed reads of one key's own jobs.
 * Another key's job is reported as absent, not as forbidden: ids are not an oracle. Event
 * streams are capped per key and in all.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { findOp } from "../../../ops/mod.ts";
import type { AppEnv } from "../context.ts";
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
  if (job === undefined || job.keyId !== c.var.key.id) {
    throw new Problem("job_not_found", "No such job for this key");
  }
  c.set("jobId", job.id);
  return job;
}

/**
 * Streams a job's events until it finishes, the client goes away or the receiver stops:
 * `queued`, `started` (if it has) and `finished`, each with the job.
 */
function streamEvents(
  c: Context<AppEnv>,
  job: Job,
  scheduler: Scheduler,
  options: { readonly release: () => void; readonly closing: AbortSignal | undefined },
): Response {
  const { release, closing } = options;
  const pending: JobEvent[] = [];
  let wake = () => {};
  // Subscribe before reading anything, in the same turn: no event can fall in between.
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
    const send = (event: string, j: Job) =>
      stream.writeSSE({ event, data: JSON.stringify(jobView(j)) });
    try {
      await send("queued", job);
      if (job.startedAt !== null) await send("started", job);
      if (FINAL_STATUSES.includes(job.status)) return await send("finished", job);
      while (!closed) {
        const event = pending.shift();
        if (event === undefined) {
          await new Promise<void>((resolve) => wake = resolve);
          continue;
        }
        await send(event.event, event.job);
        if (event.event === "finished") return;
      }
    } finally {
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
  const { scheduler, journal, keyring, now = Date.now, closing } = deps;
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
      keyId: c.var.key.id,
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
    const release = slots.take(c.var.key.id);
    return streamEvents(c, job, scheduler, { release, closing });
  });

  for (const path of ["/", "/:id", "/:id/events"]) {
    const shown = `/jobs${path === "/" ? "" : path}`;
    jobs.all(path, function getOnly() {
      throw new Problem("method_not_allowed", `Use GET for ${shown}`);
    });
  }
  return jobs;
}
