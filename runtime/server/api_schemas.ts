/**
 * What the HTTP API answers, as zod schemas: the jobs of `job_view.ts`, a trigger's acceptance,
 * health and problem details. The OpenAPI document (`openapi.ts`) is generated from them, and
 * the tests hold real answers to them, so the document cannot drift from what is served.
 *
 * Needs no permissions.
 *
 * @module
 */
import { z } from "zod";
import { OPS } from "../../ops/mod.ts";
import { MAX_PROGRESS_LINE_CHARS } from "../process/progress_cap.ts";
import { CommandReport, Issue } from "../process/protocol.ts";
import type { JobStatus } from "./journal.ts";
import { PROBLEM_TYPE_BASE, PROBLEMS } from "./problems.ts";
import { DELIVERY_ID } from "./signature.ts";

/** Every job status, each once (the `satisfies` keeps it in step with {@linkcode JobStatus}). */
const JOB_STATUSES = {
  queued: "queued",
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  timed_out: "timed_out",
  interrupted: "interrupted",
} as const satisfies { readonly [S in JobStatus]: S };

/** Where a job is in its life. */
export const JobStatusName = z.enum(JOB_STATUSES)
  .describe("queued and running go on; succeeded, failed, timed_out and interrupted are final");

const JobId = z.uuid().describe("The job's id, from the trigger's answer");
const Instant = z.iso.datetime();

/** The fields a job and its summary share. */
const JobHead = z.strictObject({
  jobId: JobId,
  op: z.enum(OPS.map((op) => op.name)),
  status: JobStatusName,
  keyId: z.string().describe("The key that signed the trigger"),
  deliveryId: z.string().regex(DELIVERY_ID).describe("The trigger's webhook-id"),
  createdAt: Instant,
  startedAt: Instant.nullable().describe(
    "When the run that serves it started: for a job answered from an earlier run, that run's start",
  ),
  finishedAt: Instant.nullable(),
});

/** How a job ended: the launcher's invocation record (null until the job is final). */
export const JobResult = z.looseObject({
  ok: z.boolean(),
  op: z.string().optional(),
  argv: z.array(z.string()).optional().describe("The host command line, binary resolved"),
  result: z.unknown().optional().describe("The op's parsed output, when ok"),
  error: z.looseObject({ code: z.string(), message: z.string() }).optional()
    .describe("A stable code (the op's or the runtime's) and a message, when not ok"),
  command: CommandReport.optional(),
  durationMs: z.number().nonnegative().optional(),
});

/** A whole job, as `GET /jobs/{id}` and a finished trigger answer it. */
export const JobView = JobHead.extend({
  input: z.unknown().describe("The op's input, as triggered"),
  result: JobResult.nullable(),
  servedBy: JobId.describe(
    "The job whose run served this one: its own id, or an identical read's whose run it shared",
  ),
});

/** A job in a list: no input and no result. */
export const JobSummaryView = JobHead.extend({
  errorCode: z.string().optional().describe("The error code of a failed job"),
});

/** `GET /jobs`: the calling key's jobs, newest first. */
export const JobList = z.strictObject({ jobs: z.array(JobSummaryView) });

/** A trigger that was accepted and has not finished yet. */
export const AcceptedJob = z.strictObject({
  jobId: JobId,
  status: z.enum([JOB_STATUSES.queued, JOB_STATUSES.running]),
});

const ProgressHead = {
  jobId: JobId,
  status: z.literal(JOB_STATUSES.running).describe("The job's status when the line came"),
  at: Instant.describe("When the line came"),
};

/**
 * The data of a `progress` event (one line of the host command's output) or of the one
 * `truncated` event (the cap was reached: later lines are not streamed).
 */
export const ProgressEvent = z.union([
  z.strictObject({
    ...ProgressHead,
    stream: z.enum(["stdout", "stderr"]).describe("Which of the command's streams"),
    line: z.string().min(1).max(MAX_PROGRESS_LINE_CHARS)
      .describe("The line: no control character but tab; invalid UTF-8 is U+FFFD"),
    cut: z.literal(true).optional().describe("The line was longer: this is its start"),
  }),
  z.strictObject({
    ...ProgressHead,
    truncated: z.literal(true).describe("The cap was reached: later lines are not streamed"),
  }),
]);

/** `GET /healthz`. */
export const Health = z.strictObject({
  status: z.enum(["ok", "draining"]).describe("draining (with 503) while the receiver stops"),
});

/** An `application/problem+json` answer (RFC 9457) with its stable code. */
export const ProblemDocument = z.strictObject({
  type: z.string().regex(new RegExp(`^${PROBLEM_TYPE_BASE}[a-z_]+$`))
    .describe(`${PROBLEM_TYPE_BASE}<code>`),
  title: z.string(),
  status: z.int().min(400).max(599),
  detail: z.string(),
  code: z.enum(Object.keys(PROBLEMS)).describe("Stable: callers may branch on it"),
  issues: z.array(Issue).optional().describe("invalid_input: where the input is wrong"),
  jobId: JobId.optional().describe("delivery_conflict: the job the delivery id belongs to"),
  scope: z.array(z.strictObject({
    field: z.string().describe("The input field"),
    needs: z.string().describe("What the scope needs of it, e.g. `vmid is 200–299`"),
  })).optional().describe(
    "scope_denied: per alternative of the key's scope, the first constraint the input failed",
  ),
});

/** The schemas above, by the name the OpenAPI document gives them. */
export const API_SCHEMAS = {
  Job: JobView,
  JobSummary: JobSummaryView,
  JobList,
  JobResult,
  JobStatus: JobStatusName,
  ProgressEvent,
  AcceptedJob,
  Health,
  Problem: ProblemDocument,
} as const;
