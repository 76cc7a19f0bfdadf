/**
 * The HTTP API on Hono: signed triggers, job reads, health and the OpenAPI document. Data flow:
 * request → verify (raw bytes) → validate → journal → scheduler → fenced launcher.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { findOp } from "../../ops/mod.ts";
import type { OpSettings } from "../../ops/types.ts";
import { issuesOf } from "../protocol.ts";
import {
  FINAL_STATUSES,
  isStorageError,
  type Job,
  type JobStatus,
  type JobSummary,
  type Journal,
} from "./journal.ts";
import { type Keyring, type LoadedKey, mayTrigger } from "./keys.ts";
import { openApiDocument } from "./openapi.ts";
import { Problem } from "./problems.ts";
import type { JobEvent, Scheduler } from "./scheduler.ts";
import { TOLERANCE_SECONDS, verifySignature } from "./signature.ts";

/** Collaborators of the app; tests pass their own. */
export interface AppDeps {
  readonly scheduler: Scheduler;
  readonly journal: Journal;
  readonly keyring: Keyring;
  readonly settings: OpSettings;
  /** One JSON log line; never a secret, a signature or a raw body. */
  log(line: Record<string, unknown>): void;
  /** @default {Date.now} */
  now?(): number;
  /** @default {65536} */
  readonly maxBodyBytes?: number;
  /** Aborted when the receiver stops: open event streams end. */
  readonly closing?: AbortSignal;
}

/** Typed context variables. */
export type AppEnv = {
  Variables: {
    requestId: string;
    key: LoadedKey;
    op: string;
    jobId: string;
  };
};

/** The longest `Prefer: wait` honoured, in seconds. */
export const MAX_WAIT_SECONDS = 60;

/** How many jobs `GET /jobs` returns at most. */
export const MAX_LIST = 500;

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

/** A job as the API shows it. */
export function jobView(job: Job): Record<string, unknown> {
  return { ...headView(job), input: job.input, result: job.result };
}

/** How a job looks in a list: a summary; `GET /jobs/<id>` has the whole job. */
export function summaryView(job: JobSummary): Record<string, unknown> {
  return {
    ...headView(job),
    ...(job.errorCode === null ? {} : { errorCode: job.errorCode }),
  };
}

function preferWait(header: string | undefined): number {
  const seconds = Number(/(?:^|[\s,;])wait=([0-9]{1,4})(?:$|[\s,;])/.exec(header ?? "")?.[1] ?? 0);
  return Math.min(seconds, MAX_WAIT_SECONDS);
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return digest.toHex();
}

/**
 * Builds the app.
 *
 * @example
 * ```ts ignore
 * const app = createApp({ scheduler, journal, keyring, settings, log: console.log });
 * Deno.serve({ hostname: "127.0.0.1", port: 8787 }, app.fetch);
 * ```
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { scheduler, journal, keyring } = deps;
  const now = deps.now ?? Date.now;
  const maxBodyBytes = deps.maxBodyBytes ?? 64 * 1024;
  const app = new Hono<AppEnv>();

  app.use(function requestLog(c, next) {
    const started = performance.now();
    const requestId = crypto.randomUUID();
    c.set("requestId", requestId);
    c.header("X-Request-Id", requestId);
    return next().finally(() => {
      deps.log({
        t: new Date(now()).toISOString(),
        kind: "request",
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round(performance.now() - started),
        keyId: c.get("key")?.id,
        op: c.get("op"),
        jobId: c.get("jobId"),
      });
    });
  });

  app.onError((error, c) => {
    const problem = error instanceof Problem ? error : isStorageError(error)
      ? new Problem(
        "journal_unavailable",
        "The journal cannot be written (disk full or failing); nothing was accepted",
        {},
        { "Retry-After": "5" },
      )
      : new Problem("internal", "The receiver failed; see its log");
    if (!(error instanceof Problem)) {
      deps.log({ t: new Date(now()).toISOString(), kind: "error", message: String(error) });
    }
    for (const [name, value] of Object.entries(problem.headers)) c.header(name, value);
    return c.body(JSON.stringify(problem.toJSON()), problem.status as 400, {
      "Content-Type": "application/problem+json",
    });
  });

  app.notFound(() => {
    throw new Problem("not_found", "No such endpoint");
  });

  // A draining receiver takes no new jobs: load balancers and monitors should see that.
  app.get(
    "/healthz",
    (c) => scheduler.accepting ? c.json({ status: "ok" }) : c.json({ status: "draining" }, 503),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument(deps.settings)));

  app.post(
    "/hooks/:op",
    function opExists(c, next) {
      // No early 503 while draining: a redelivery of an accepted job still gets its job back,
      // and submit() refuses only new ones.
      const op = c.req.param("op");
      if (findOp(op) === undefined) throw new Problem("unknown_op", `No op named "${op}"`);
      c.set("op", op);
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/json\s*(;|$)/i.test(type)) {
        throw new Problem("not_json", `Content-Type is "${type}", not application/json`);
      }
      return next();
    },
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new Problem("body_too_large", `Body is larger than ${maxBodyBytes} bytes`);
      },
    }),
    async function trigger(c) {
      const op = findOp(c.get("op"))!;
      const raw = new Uint8Array(await c.req.arrayBuffer());
      const verified = await verifySignature(c.req.raw.headers, raw, {
        keys: keyring.keys,
        nowSeconds: Math.floor(now() / 1000),
      });
      if (!verified.ok) throw new Problem(verified.code, verified.detail);
      const key = keyring.keys.find((k) => k.id === verified.key.id)!;
      c.set("key", key);
      if (!mayTrigger(key, op.name)) {
        throw new Problem("op_not_allowed", `Key "${key.id}" may not trigger "${op.name}"`);
      }
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
      } catch {
        throw new Problem("bad_json", "Body is not valid UTF-8 JSON");
      }
      const parsed = op.schema(deps.settings).safeParse(body);
      if (!parsed.success) {
        throw new Problem("invalid_input", `Input for "${op.name}" does not match its schema`, {
          issues: issuesOf(parsed.error),
        });
      }
      const submitted = scheduler.submit({
        keyId: key.id,
        deliveryId: verified.deliveryId,
        bodyHash: await sha256Hex(raw),
        op: op.name,
        input: parsed.data,
        resourceKeys: op.resourceKeys(parsed.data),
      });
      if (submitted.kind === "queue_full") {
        throw new Problem("queue_full", "Too many jobs are waiting; retry later", {}, {
          "Retry-After": "5",
        });
      }
      if (submitted.kind === "shutting_down") {
        throw new Problem("shutting_down", "The receiver is stopping");
      }
      if (submitted.kind === "conflict") {
        throw new Problem(
          "delivery_conflict",
          `Delivery "${verified.deliveryId}" was already used with another body`,
          { jobId: submitted.job.id },
        );
      }
      c.set("jobId", submitted.job.id);
      if (submitted.kind === "existing") c.header("Idempotent-Replayed", "true");
      const wait = preferWait(c.req.header("prefer"));
      const job = wait > 0
        ? (await scheduler.waitFor(submitted.job.id, wait * 1000))!
        : journal.get(submitted.job.id)!;
      c.header("Location", `/jobs/${job.id}`);
      if (FINAL_STATUSES.includes(job.status)) {
        if (wait > 0) c.header("Preference-Applied", `wait=${wait}`);
        return c.json(jobView(job), 200);
      }
      return c.json({ jobId: job.id, status: job.status }, 202);
    },
  );

  const reader = signedRead(deps, now, new SeenReads());
  const streams = new Map<string, number>();
  const total = { streams: 0 };

  app.get("/jobs", reader, (c) => {
    const status = c.req.query("status");
    const op = c.req.query("op");
    const limitText = c.req.query("limit") ?? "50";
    const statuses: readonly string[] = [...FINAL_STATUSES, "queued", "running"];
    if (
      (status !== undefined && !statuses.includes(status)) ||
      (op !== undefined && findOp(op) === undefined) || !/^[0-9]{1,4}$/.test(limitText)
    ) {
      throw new Problem("bad_query", "Use op=<op>, status=<status> and limit=1..500");
    }
    const jobs = journal.summaries({
      keyId: c.get("key").id,
      limit: Math.min(Math.max(Number(limitText), 1), MAX_LIST),
      ...(op === undefined ? {} : { op }),
      ...(status === undefined ? {} : { status: status as JobStatus }),
    });
    return c.json({ jobs: jobs.map(summaryView) });
  });

  app.get("/jobs/:id", reader, (c) => c.json(jobView(ownJob(c, journal))));

  app.get("/jobs/:id/events", reader, (c) => {
    const job = ownJob(c, journal);
    const keyId = c.get("key").id;
    const mine = streams.get(keyId) ?? 0;
    if (mine >= MAX_STREAMS_PER_KEY || total.streams >= MAX_STREAMS) {
      throw new Problem(
        "too_many_streams",
        mine >= MAX_STREAMS_PER_KEY
          ? `Key "${keyId}" already has ${mine} event streams open`
          : `${total.streams} event streams are open`,
        {},
        { "Retry-After": "5" },
      );
    }
    streams.set(keyId, mine + 1);
    total.streams++;
    const release = () => {
      total.streams--;
      const left = (streams.get(keyId) ?? 1) - 1;
      if (left > 0) streams.set(keyId, left);
      else streams.delete(keyId);
    };
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
      if (deps.closing?.aborted) end();
      deps.closing?.addEventListener("abort", end, { once: true });
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
  });

  app.all("/hooks/:op", (c) => {
    throw new Problem("method_not_allowed", `Use POST for /hooks/${c.req.param("op")}`);
  });
  for (const path of ["/jobs", "/jobs/:id", "/jobs/:id/events", "/healthz", "/openapi.json"]) {
    app.all(path, () => {
      throw new Problem("method_not_allowed", `Use GET for ${path}`);
    });
  }

  return app;
}

function ownJob(c: Context<AppEnv>, journal: Journal): Job {
  const job = journal.get(c.req.param("id") ?? "");
  // Another key's job is reported as absent, not as forbidden: ids are not an oracle.
  if (job === undefined || job.keyId !== c.get("key").id) {
    throw new Problem("job_not_found", "No such job for this key");
  }
  c.set("jobId", job.id);
  return job;
}

/**
 * Reads are signed like triggers, over `GET <path and query>` instead of a body, so the secret
 * never crosses the wire and a captured read expires with its timestamp.
 */
/** Event streams one key may hold open at once. */
export const MAX_STREAMS_PER_KEY = 8;
/** Event streams open at once, all keys together. */
export const MAX_STREAMS = 64;

/**
 * Read signatures already used, each until it could no longer verify anyway (the timestamp
 * tolerance on both sides), so a captured read is good for one request, never a flood of
 * streams. Bounded: past the cap the oldest is forgotten first.
 */
export class SeenReads {
  readonly #until = new Map<string, number>();
  readonly #cap: number;

  constructor(cap = 100_000) {
    this.#cap = cap;
  }

  /** Records a use; false when this key already used this id (a replay). */
  use(keyId: string, deliveryId: string, nowMs: number): boolean {
    const id = `${keyId}\n${deliveryId}`;
    const until = this.#until.get(id);
    if (until !== undefined && until > nowMs) return false;
    if (this.#until.size >= this.#cap) {
      for (const [seen, expiry] of this.#until) {
        if (expiry <= nowMs || this.#until.size >= this.#cap) this.#until.delete(seen);
        else break;
      }
    }
    this.#until.set(id, nowMs + 2 * TOLERANCE_SECONDS * 1000);
    return true;
  }
}

function signedRead(
  deps: AppDeps,
  now: () => number,
  seen: SeenReads,
): MiddlewareHandler<AppEnv> {
  return async function signedReadAuth(c, next) {
    const url = new URL(c.req.url);
    const content = new TextEncoder().encode(`GET ${url.pathname}${url.search}`);
    const verified = await verifySignature(c.req.raw.headers, content, {
      keys: deps.keyring.keys,
      nowSeconds: Math.floor(now() / 1000),
    });
    if (!verified.ok) throw new Problem(verified.code, verified.detail);
    if (!seen.use(verified.key.id, verified.deliveryId, now())) {
      throw new Problem(
        "signature_replayed",
        `Read "${verified.deliveryId}" was already made; sign each read with a new webhook-id`,
      );
    }
    c.set("key", deps.keyring.keys.find((k) => k.id === verified.key.id)!);
    await next();
  };
}
