/**
 * The OpenAPI 3.1 document, generated from the ops' zod schemas.
 *
 * @module
 */
import { z } from "zod";
import { OPS } from "../../ops/mod.ts";
import type { OpSettings } from "../../ops/types.ts";
import { PROBLEMS } from "./problems.ts";

const SIGNED = [
  { name: "webhook-id", in: "header", required: true, schema: { type: "string" } },
  { name: "webhook-timestamp", in: "header", required: true, schema: { type: "string" } },
  {
    name: "webhook-signature",
    in: "header",
    required: true,
    description: "v1,<base64 HMAC-SHA256 of <id>.<timestamp>.<body>> (reads sign GET <path>)",
    schema: { type: "string" },
  },
];

function problemResponses(codes: (keyof typeof PROBLEMS)[]) {
  const responses: Record<string, unknown> = {};
  for (const code of codes) {
    const [status, title] = PROBLEMS[code];
    const entry = responses[status] as { description: string } | undefined;
    responses[status] = {
      description: entry ? `${entry.description}; ${code}` : `${title} (${code})`,
      content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
    };
  }
  return responses;
}

/** Builds the document for the given settings (the mount base shapes `mount-usb`). */
export function openApiDocument(settings: OpSettings): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const op of OPS) {
    paths[`/hooks/${op.name}`] = {
      post: {
        summary: op.summary,
        description: `Runs ${op.permissions.run.join(", ")} in a fenced child.`,
        parameters: [
          ...SIGNED,
          { name: "Prefer", in: "header", required: false, schema: { type: "string" } },
        ],
        requestBody: {
          required: true,
          content: {
            "application/json": { schema: z.toJSONSchema(op.schema(settings), { io: "input" }) },
          },
        },
        responses: {
          200: { description: "Finished within Prefer: wait, or a replayed finished delivery" },
          202: { description: "Accepted: { jobId, status } and a Location header" },
          ...problemResponses([
            "bad_json",
            "signature_missing",
            "signature_invalid",
            "signature_expired",
            "op_not_allowed",
            "unknown_op",
            "delivery_conflict",
            "body_too_large",
            "not_json",
            "invalid_input",
            "queue_full",
            "shutting_down",
          ]),
        },
      },
    };
  }
  const read = (summary: string) => ({
    get: {
      summary,
      parameters: SIGNED,
      responses: {
        200: { description: "OK" },
        ...problemResponses(["signature_missing", "signature_invalid", "signature_expired"]),
      },
    },
  });
  paths["/jobs"] = read(
    "Summaries of the calling key's jobs, newest first (op=, status=, limit=); no input or result",
  );
  paths["/jobs/{id}"] = read("One job of the calling key");
  paths["/jobs/{id}/events"] = read("Server-sent events: queued, started, finished");
  paths["/healthz"] = { get: { summary: "Liveness", responses: { 200: { description: "OK" } } } };
  return {
    openapi: "3.1.0",
    info: { title: "rootfence", version: "0.1.0" },
    paths,
    components: {
      schemas: {
        Problem: {
          type: "object",
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string" },
            code: { type: "string", enum: Object.keys(PROBLEMS) },
          },
        },
      },
    },
  };
}
