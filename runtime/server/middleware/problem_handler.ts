/**
 * The app's one error handler: every expected failure arrives as a {@linkcode Problem} and is
 * answered from the problem table (`../problems.ts`); a journal that cannot be written is a 503;
 * anything else is logged and answered as a bare 500.
 *
 * @module
 */
import type { ErrorHandler } from "hono";
import type { AppEnv } from "../context.ts";
import { isStorageError } from "../journal.ts";
import { Problem } from "../problems.ts";

/** Options of {@linkcode problemHandler}. */
export interface ProblemHandlerOptions {
  /** Writes one JSON log line (for unexpected errors only). */
  log(line: Record<string, unknown>): void;
  /**
   * The clock, in ms since the epoch.
   *
   * @default {Date.now}
   */
  now?(): number;
  /**
   * Told the stable code of every problem answered (the metrics' rejected requests).
   *
   * @default {nothing}
   */
  rejected?(code: string): void;
}

function problemOf(error: Error): Problem {
  if (error instanceof Problem) return error;
  if (isStorageError(error)) {
    return new Problem(
      "journal_unavailable",
      "The journal cannot be written (disk full or failing); nothing was accepted",
      {},
      { "Retry-After": "5" },
    );
  }
  return new Problem("internal", "The receiver failed; see its log");
}

/**
 * Answers a thrown error as `application/problem+json` (RFC 9457).
 *
 * @param options Where unexpected errors are logged, and the clock.
 * @returns The handler for `app.onError`.
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { AppEnv } from "../context.ts";
 * import { Problem } from "../problems.ts";
 * import { problemHandler } from "./problem_handler.ts";
 * import assert from "node:assert/strict";
 * const app = new Hono<AppEnv>().onError(problemHandler({ log: () => {} }));
 * app.get("/", () => {
 *   throw new Problem("not_found", "No such endpoint");
 * });
 * assert.equal((await app.request("/")).status, 404);
 * ```
 */
export function problemHandler(options: ProblemHandlerOptions): ErrorHandler<AppEnv> {
  const { log, now = Date.now, rejected = () => {} } = options;
  return function answerProblem(error, c) {
    const problem = problemOf(error);
    rejected(problem.code);
    if (!(error instanceof Problem)) {
      log({ t: new Date(now()).toISOString(), kind: "error", message: String(error) });
    }
    for (const [name, value] of Object.entries(problem.headers)) c.header(name, value);
    return c.body(JSON.stringify(problem.toJSON()), problem.status as 400, {
      "Content-Type": "application/problem+json",
    });
  };
}
