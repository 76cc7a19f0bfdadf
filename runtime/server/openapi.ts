/**
 * The OpenAPI 3.1 document of the HTTP API, composed from zod schemas with `z.toJSONSchema`:
 * each op's input as its trigger's request body, the answers of `api_schemas.ts`, the stable
 * problem codes of `problems.ts` per operation, and the Standard Webhooks signature as three
 * header schemes required together (OpenAPI cannot express an HMAC; the schemes say how to sign);
 * `GET /metrics` takes a bearer token instead.
 *
 * Needs no permissions.
 *
 * @module
 */
import { z } from "zod";
import { errorCodes, OPS } from "../../ops/mod.ts";
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { API_SCHEMAS } from "./api_schemas.ts";
import { type ProblemCode, PROBLEMS } from "./problems.ts";
import { MAX_WAIT_SECONDS } from "./routes/hooks.ts";
import { LAST_EVENT_ID, MAX_LIST, MAX_STREAMS, MAX_STREAMS_PER_KEY } from "./routes/jobs.ts";
import { MAX_PROGRESS_BYTES, MAX_PROGRESS_LINES } from "../process/progress_cap.ts";
import { MAX_SIGNATURES, TOLERANCE_SECONDS } from "./signature.ts";

const SIGNING = `Requests are signed as Standard Webhooks v1 (https://www.standardwebhooks.com/): \
webhook-signature is \`v1,<base64 HMAC-SHA256>\` keyed with the bytes of the key's \
\`whsec_<base64>\` secret, over \`<webhook-id>.<webhook-timestamp>.<raw body>\`; a read signs \
\`GET <path and query>\` in place of the body. All three headers are required together.`;

const SECURITY_SCHEMES = {
  webhookId: {
    type: "apiKey",
    in: "header",
    name: "webhook-id",
    description: "A new delivery id per request, `[A-Za-z0-9_:-]{1,255}`. A trigger's is its " +
      "idempotency key; a read's is good once (401 signature_replayed).",
  },
  webhookTimestamp: {
    type: "apiKey",
    in: "header",
    name: "webhook-timestamp",
    description: `Unix seconds; refused when more than ${TOLERANCE_SECONDS} s from now.`,
  },
  webhookSignature: {
    type: "apiKey",
    in: "header",
    name: "webhook-signature",
    description: `${SIGNING} Up to ${MAX_SIGNATURES} signatures, separated by spaces ` +
      "(secret rotation).",
  },
  metricsToken: {
    type: "http",
    scheme: "bearer",
    description: "One of the keys file's metrics tokens (`metrics.tokens` or " +
      "`metrics.tokenFiles`; `deno task keygen --metrics-token`). It reads metrics only; a " +
      "key's secret never does.",
  },
};

/** All three signature headers, together. */
const SIGNED = [{ webhookId: [], webhookTimestamp: [], webhookSignature: [] }];
/** The metrics scrape's bearer token. */
const METRICS = [{ metricsToken: [] }];
/** No signature: health and this document. */
const PUBLIC: never[] = [];

/** What any request can get from the listener or as a last resort. */
const ANY: readonly ProblemCode[] = [
  "bad_request",
  "internal",
  "executor_failed",
  "executor_unavailable",
];
const SIGNATURE: readonly ProblemCode[] = [
  "signature_missing",
  "signature_invalid",
  "signature_expired",
];
const READ: readonly ProblemCode[] = [...SIGNATURE, "signature_replayed", "journal_unavailable"];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const header = (description: string, schema: Record<string, unknown> = { type: "string" }) => ({
  description,
  schema,
});
const LOCATION = header("`/jobs/{jobId}`");
const REPLAYED = header("`true` when the delivery id was seen before: the same job again", {
  const: "true",
});

/** An OpenAPI Response Object, as far as this document uses it. */
interface ResponseObject {
  readonly description: string;
  readonly headers?: Record<string, unknown>;
  readonly content: Record<string, { readonly schema: Record<string, unknown> }>;
}

function json(
  schema: string,
  description: string,
  headers?: Record<string, unknown>,
): ResponseObject {
  return {
    description,
    ...(headers === undefined ? {} : { headers }),
    content: { "application/json": { schema: ref(schema) } },
  };
}

const RETRY_AFTER = { "Retry-After": header("Seconds to wait, when known", { type: "integer" }) };

/** Problem answers by status, each listing its codes; 429 and 503 may say `Retry-After`. */
function problems(codes: readonly ProblemCode[]): Record<string, ResponseObject> {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of [...codes, ...ANY]) {
    const status = PROBLEMS[code][0];
    byStatus.set(status, [...byStatus.get(status) ?? [], code]);
  }
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([status, list]) => [String(status), {
      description: list.map((code) => `${code}: ${PROBLEMS[code][1]}`).join("; "),
      ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
      content: { "application/problem+json": { schema: ref("Problem") } },
    }]),
  );
}

/** `create-golden-lxc` → `CreateGoldenLxc`. */
function pascal(name: string): string {
  return name.split("-").map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join("");
}

/** Named JSON Schemas from zod schemas, referring to each other through the components. */
function componentSchemas(
  schemas: Readonly<Record<string, z.ZodType>>,
  io: "input" | "output",
): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { io, uri: (id) => ref(id).$ref }).schemas;
  return Object.fromEntries(
    Object.entries(generated).map(([id, { $schema: _, $id: __, ...schema }]) => [id, schema]),
  );
}

function trigger(op: AnyOp, settings: OpSettings) {
  const example = op.schema(settings).safeParse(op.example).success ? { example: op.example } : {};
  return {
    post: {
      operationId: `trigger${pascal(op.name)}`,
      tags: ["hooks"],
      summary: op.summary,
      description: `Runs ${op.permissions.run.join(", ")} in a fenced child` +
        (op.mutates ? ", changing the host (never retried)" : ", read-only") +
        `. A failed job's \`result.error.code\` is one of: ${errorCodes([op]).join(", ")}. ` +
        "A key's scope may limit this op's input: an input outside it is refused with 403 " +
        "`scope_denied` before anything is journaled.",
      parameters: [{
        name: "Prefer",
        in: "header",
        description: `\`wait=<seconds>\` (at most ${MAX_WAIT_SECONDS}): answer 200 with the ` +
          "finished job if it ends in time, else 202 as without it.",
        schema: { type: "string", pattern: "wait=[0-9]{1,4}" },
        example: "wait=10",
      }],
      requestBody: {
        required: true,
        content: { "application/json": { schema: ref(`${pascal(op.name)}Input`), ...example } },
      },
      responses: {
        200: json("Job", "The job has finished (within Prefer: wait, or a replayed delivery)", {
          Location: LOCATION,
          "Preference-Applied": header("`wait=<seconds>` when Prefer: wait was honoured"),
          "Idempotent-Replayed": REPLAYED,
        }),
        202: json("AcceptedJob", "Accepted and not finished yet: follow Location", {
          Location: LOCATION,
          "Idempotent-Replayed": REPLAYED,
        }),
        ...problems([
          "bad_json",
          ...SIGNATURE,
          "op_not_allowed",
          "scope_denied",
          "delivery_conflict",
          "body_too_large",
          "not_json",
          "invalid_input",
          "queue_full",
          "shutting_down",
          "journal_unavailable",
        ]),
      },
    },
  };
}

const JOB_ID = {
  name: "id",
  in: "path",
  required: true,
  description: "The job's id; another key's job reads as 404 job_not_found",
  schema: { type: "string", format: "uuid" },
};

const EVENTS = `Each event has an \`id:\` (a whole number, increasing within the job), an \
\`event:\` and one \`data:\` line of JSON with the job's state at that moment: \`queued\` (id 1) \
the Job as accepted (not started, no result); \`started\` (id 2) the Job as it started; \
\`progress\` (3 and up) one line of the host command's output as it ran (a ProgressEvent), for \
ops that stream progress (create-golden-lxc: pct's output); \`truncated\` (once, a \
ProgressEvent) when a run reached ${MAX_PROGRESS_LINES} lines or ${MAX_PROGRESS_BYTES / 1024} KiB \
of them: later lines are not streamed, and the job's result still holds its whole output; \
\`finished\` (the last id) the final Job. Events are stored: a stream sends those after \
Last-Event-ID from the journal, also after a restart, then live ones, each once. A key may hold \
${MAX_STREAMS_PER_KEY} streams open, all keys ${MAX_STREAMS}.`;

function reads(): Record<string, unknown> {
  return {
    "/jobs": {
      get: {
        operationId: "listJobs",
        tags: ["jobs"],
        summary: "The calling key's jobs as summaries, newest first (no input, no result)",
        parameters: [
          { name: "op", in: "query", schema: { type: "string", enum: OPS.map((op) => op.name) } },
          { name: "status", in: "query", schema: ref("JobStatus") },
          {
            name: "limit",
            in: "query",
            schema: { type: "integer", minimum: 1, maximum: MAX_LIST, default: 50 },
          },
        ],
        responses: {
          200: json("JobList", "The jobs"),
          ...problems(["bad_query", ...READ]),
        },
      },
    },
    "/jobs/{id}": {
      parameters: [JOB_ID],
      get: {
        operationId: "getJob",
        tags: ["jobs"],
        summary: "One job of the calling key, with its input and result",
        responses: {
          200: json("Job", "The job"),
          ...problems(["job_not_found", ...READ]),
        },
      },
    },
    "/jobs/{id}/events": {
      parameters: [JOB_ID],
      get: {
        operationId: "streamJobEvents",
        tags: ["jobs"],
        summary: "The job's events as server-sent events: its history, then live, until it ends",
        description: EVENTS,
        parameters: [{
          name: "Last-Event-ID",
          in: "header",
          description: "Send only the events after this id (the last one the client got). " +
            "Not covered by the signature: it only picks which of the key's own events come.",
          schema: { type: "string", pattern: LAST_EVENT_ID.source },
          example: "5",
        }],
        responses: {
          200: {
            description: "The events after Last-Event-ID (all without it), then the live ones; " +
              "the stream ends after `finished` (at once when that was sent before).",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          ...problems(["job_not_found", "bad_event_id", "too_many_streams", ...READ]),
        },
      },
    },
  };
}

function system(): Record<string, unknown> {
  const health = problems([]);
  return {
    "/healthz": {
      get: {
        operationId: "getHealth",
        tags: ["system"],
        summary: "Liveness, and whether new jobs are taken",
        security: PUBLIC,
        responses: {
          200: json("Health", "Taking jobs"),
          ...health,
          503: {
            ...health[503],
            description: `draining: the receiver is stopping and takes no new jobs (Health); ` +
              health[503]?.description,
            content: { ...health[503]?.content, ...json("Health", "").content },
          },
        },
      },
    },
    "/metrics": {
      get: {
        operationId: "getMetrics",
        tags: ["system"],
        summary: "The receiver and the host (SMART, sensors) as Prometheus metrics",
        security: METRICS,
        responses: {
          200: {
            description: "The Prometheus text format 0.0.4; host reads older than the " +
              "receiver's --metrics-max-age are run again first",
            content: { "text/plain": { schema: { type: "string" } } },
          },
          ...problems(["metrics_token_missing", "metrics_token_invalid"]),
        },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "getOpenApiDocument",
        tags: ["system"],
        summary: "This document",
        security: PUBLIC,
        responses: {
          200: {
            description: "The OpenAPI 3.1 document",
            content: { "application/json": { schema: { type: "object" } } },
          },
          ...problems([]),
        },
      },
    },
  };
}

/**
 * Builds the document for the given settings (the mount base shapes `mount-usb`'s input).
 *
 * @param settings The ops' host settings.
 * @returns The OpenAPI 3.1 document, as JSON-ready data.
 * @throws {Error} When an op's input schema cannot be written as JSON Schema (a bug in the op).
 * @example
 * ```ts
 * import { openApiDocument } from "./openapi.ts";
 * import assert from "node:assert/strict";
 * const doc = openApiDocument({ mountBase: "/mnt/usb" }) as { paths: Record<string, any> };
 * assert.equal(doc.paths["/hooks/smart"].post.operationId, "triggerSmart");
 * ```
 */
export function openApiDocument(settings: OpSettings): Record<string, unknown> {
  const inputs = Object.fromEntries(
    OPS.map((op) => [`${pascal(op.name)}Input`, op.schema(settings)]),
  );
  return {
    openapi: "3.1.0",
    info: {
      title: "rootfence",
      version: "0.1.0",
      description: `Signed webhooks that run fenced host commands. ${SIGNING} Every answer has ` +
        "an X-Request-Id; other methods on these paths get 405 method_not_allowed, other paths " +
        "404 not_found, as application/problem+json with a stable `code`.",
    },
    servers: [{ url: "/", description: "The receiver that serves this document" }],
    security: SIGNED,
    tags: [
      { name: "hooks", description: "Signed triggers, one per op" },
      { name: "jobs", description: "Signed reads of the calling key's own jobs" },
      {
        name: "system",
        description: "Unsigned: health and this document; metrics, with a bearer token",
      },
    ],
    paths: {
      ...Object.fromEntries(OPS.map((op) => [`/hooks/${op.name}`, trigger(op, settings)])),
      ...reads(),
      ...system(),
    },
    components: {
      schemas: {
        ...componentSchemas(API_SCHEMAS, "output"),
        ...componentSchemas(inputs, "input"),
      },
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}
