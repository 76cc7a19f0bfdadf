/**
 * Every expected failure of the HTTP API, one table from stable code to status, answered as
 * `application/problem+json` (RFC 9457).
 *
 * @module
 */

/** Status and title per stable problem code. */
export const PROBLEMS = {
  bad_json: [400, "Body is not valid JSON"],
  bad_query: [400, "Query parameters are invalid"],
  bad_event_id: [400, "Last-Event-ID is not an event id of this job"],
  bad_request: [400, "The request cannot be forwarded"],
  signature_missing: [401, "Signature missing"],
  signature_invalid: [401, "Signature does not verify"],
  signature_expired: [401, "Signature timestamp outside the tolerance"],
  signature_replayed: [401, "This read signature was already used"],
  metrics_token_missing: [401, "Metrics need a bearer token"],
  metrics_token_invalid: [401, "Not a metrics token"],
  op_not_allowed: [403, "This key may not trigger this op"],
  scope_denied: [403, "This key's scope does not allow this input"],
  unknown_op: [404, "No such op"],
  job_not_found: [404, "No such job for this key"],
  not_found: [404, "Not found"],
  method_not_allowed: [405, "Method not allowed"],
  delivery_conflict: [409, "Delivery id already used with another body"],
  body_too_large: [413, "Body too large"],
  not_json: [415, "Body must be application/json"],
  invalid_input: [422, "Input does not match the op's schema"],
  queue_full: [429, "Queue full"],
  too_many_streams: [429, "Too many event streams open"],
  internal: [500, "Internal error"],
  executor_failed: [502, "The executor gave no valid answer"],
  shutting_down: [503, "Shutting down"],
  journal_unavailable: [503, "The journal cannot be written now"],
  executor_unavailable: [503, "The executor is not reachable"],
} as const satisfies Record<string, readonly [number, string]>;

/** A stable problem code. */
export type ProblemCode = keyof typeof PROBLEMS;

/** Where problem types are documented. */
export const PROBLEM_TYPE_BASE = "urn:rootfence:problem:";

/** An expected failure; thrown by handlers, answered by the app's one error handler. */
export class Problem extends Error {
  readonly code: ProblemCode;
  readonly extra: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  /**
   * @param code Stable code.
   * @param detail What went wrong, for this request.
   * @param extra Extension members (for example `issues`).
   * @param headers Extra response headers (for example `Retry-After`).
   */
  constructor(
    code: ProblemCode,
    detail: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = "Problem";
    this.code = code;
    this.extra = extra;
    this.headers = headers;
  }

  /** The HTTP status of this problem. */
  get status(): number {
    return PROBLEMS[this.code][0];
  }

  /** The RFC 9457 document. */
  toJSON(): Record<string, unknown> {
    const [status, title] = PROBLEMS[this.code];
    return {
      type: `${PROBLEM_TYPE_BASE}${this.code}`,
      title,
      status,
      detail: this.message,
      code: this.code,
      ...this.extra,
    };
  }
}
