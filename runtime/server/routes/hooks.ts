/**
 * `POST /hooks/<op>`: a signed trigger. Data flow: the op is known → the body is bounded JSON →
 * its signature verifies over the raw bytes → its input matches the op's schema → the key's scope
 * allows that input → the scheduler
 * journals the job and runs it through the fenced launcher (or, for a read, lets it share an
 * identical run as its `Cache-Control` allows) → 202, or 200 with the finished job when the
 * client asked to wait or an earlier run answered it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Hono } from "hono";
import type { Context } from "hono";
import type { OpSettings } from "../../../ops/types.ts";
import type { AppEnv } from "../context.ts";
import { jobView } from "../job_view.ts";
import { FINAL_STATUSES, isStorageError, type Job, type Journal } from "../journal.ts";
import type { KeyringHolder } from "../keyring_holder.ts";
import { jsonBody } from "../middleware/json_body.ts";
import { inScope } from "../middleware/in_scope.ts";
import { knownOp } from "../middleware/known_op.ts";
import { validInput } from "../middleware/valid_input.ts";
import { webhookAuth } from "../middleware/webhook_auth.ts";
import { Problem } from "../problems.ts";
import type { Scheduler, Submitted } from "../scheduler.ts";
import type { Sharing } from "../shared_runs.ts";

/** The longest `Prefer: wait` honoured, in seconds. */
export const MAX_WAIT_SECONDS = 60;

/** The oldest run a `Cache-Control: max-age` may take, in seconds (a day). */
export const MAX_AGE_SECONDS = 86_400;

/** Collaborators of {@linkcode hookRoutes}. */
export interface HookRoutesDeps {
  readonly scheduler: Scheduler;
  readonly journal: Journal;
  readonly keyring: KeyringHolder;
  readonly settings: OpSettings;
  /**
   * The clock, in ms since the epoch.
   *
   * @default {Date.now}
   */
  now?(): number;
  /**
   * The largest trigger body, in bytes.
   *
   * @default {65536}
   */
  readonly maxBodyBytes?: number;
}

function preferWait(header: string | undefined): number {
  const seconds = Number(/(?:^|[\s,;])wait=([0-9]{1,4})(?:$|[\s,;])/.exec(header ?? "")?.[1] ?? 0);
  return Math.min(seconds, MAX_WAIT_SECONDS);
}

/**
 * What a read's `Cache-Control` lets it share: `no-cache` never another's run; `max-age=<s>` also
 * a run that started at most `s` seconds ago, running or finished; anything else a run still
 * queued, which is as fresh as its own.
 */
function sharingOf(header: string | undefined): Sharing {
  const directives = (header ?? "").toLowerCase().split(",").map((d) => d.trim());
  if (directives.includes("no-cache")) return "own";
  const maxAge = directives.map((d) => /^max-age=([0-9]{1,9})$/.exec(d)?.[1]).find(Boolean);
  if (maxAge === undefined) return "queued";
  return { maxAgeMs: Math.min(Number(maxAge), MAX_AGE_SECONDS) * 1000 };
}

/** The body's identity for redeliveries: synchronous, a few microseconds for a small body. */
function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Writes a held job (see `Journal.accept`) before an answer names it. A storage error is answered
 * 503 as always, but says what is true then: the read runs, and is not on record yet.
 */
function persistFor(journal: Journal, jobId: string): void {
  try {
    journal.persist(jobId);
  } catch (error) {
    if (!isStorageError(error)) throw error;
    throw new Problem(
      "journal_unavailable",
      "The journal cannot be written (disk full or failing): this read runs but is not on " +
        "record; retry with the same webhook-id",
      {},
      { "Retry-After": "5" },
    );
  }
}

/**
 * The job a submission created or found again.
 *
 * @throws {Problem} `queue_full`, `shutting_down` or `delivery_conflict` for a refusal.
 */
function acceptedJob(submitted: Submitted, deliveryId: string, journal: Journal): Job {
  switch (submitted.kind) {
    case "created":
    case "existing":
      return submitted.job;
    case "queue_full":
      throw new Problem("queue_full", "Too many jobs are waiting; retry later", {}, {
        "Retry-After": "5",
      });
    case "shutting_down":
      throw new Problem("shutting_down", "The receiver is stopping");
    case "conflict":
      // The answer names the job, so it is on record first.
      persistFor(journal, submitted.job.id);
      throw new Problem(
        "delivery_conflict",
        `Delivery "${deliveryId}" was already used with another body`,
        { jobId: submitted.job.id },
      );
  }
}

/**
 * The trigger routes, to mount at `/hooks`.
 *
 * @param deps The scheduler, journal, keys and settings.
 * @returns The routes.
 * @example
 * ```ts ignore
 * app.route("/hooks", hookRoutes({ scheduler, journal, keyring, settings }));
 * ```
 */
export function hookRoutes(deps: HookRoutesDeps): Hono<AppEnv> {
  const { scheduler, journal, keyring, settings, now = Date.now, maxBodyBytes } = deps;
  const hooks = new Hono<AppEnv>();

  async function trigger(c: Context<AppEnv>) {
    // `c.get()`, not `c.var`: Hono builds a new object of every variable per `c.var` read.
    const [op, key, deliveryId, input] = [
      c.get("op"),
      c.get("key"),
      c.get("deliveryId"),
      c.get("input"),
    ];
    const wait = preferWait(c.req.header("prefer"));
    const submitted = scheduler.submit(
      {
        keyId: key.id,
        deliveryId,
        bodyHash: sha256Hex(c.get("body")),
        op: op.name,
        input,
        resourceKeys: op.resourceKeys(input),
      },
      sharingOf(c.req.header("cache-control")),
      { hold: wait > 0 },
    );
    const accepted = acceptedJob(submitted, deliveryId, journal);
    c.set("jobId", accepted.id);
    const job =
      (wait > 0 ? await scheduler.waitFor(accepted.id, wait * 1000) : journal.get(accepted.id)) ??
        accepted;
    const final = FINAL_STATUSES.includes(job.status);
    // A job the client learns of before its end is on record first (a held read is not yet),
    // before any header names it.
    if (!final) persistFor(journal, job.id);
    if (submitted.kind === "existing") c.header("Idempotent-Replayed", "true");
    c.header("Location", `/jobs/${job.id}`);
    if (final) {
      if (wait > 0) c.header("Preference-Applied", `wait=${wait}`);
      return c.json(jobView(job), 200);
    }
    return c.json({ jobId: job.id, status: job.status }, 202);
  }

  hooks.post(
    "/:op",
    knownOp(),
    jsonBody(maxBodyBytes === undefined ? {} : { maxBytes: maxBodyBytes }),
    webhookAuth({ keyring, now, signs: "body" }),
    validInput({ settings }),
    inScope(),
    trigger,
  );
  hooks.all("/:op", function postOnly(c) {
    throw new Problem("method_not_allowed", `Use POST for /hooks/${c.req.param("op")}`);
  });
  return hooks;
}
