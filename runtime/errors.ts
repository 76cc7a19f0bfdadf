/**
 * The one error class callers handle, carrying a stable code.
 *
 * @module
 */
import type { ErrorCode } from "../ops/types.ts";

/** Extra facts an error may carry: the command, its exit code, zod issue paths, ... */
export type ErrorDetail = Readonly<Record<string, unknown>>;

/**
 * A failure with a stable {@linkcode ErrorCode}.
 *
 * @example
 * ```ts
 * import { RootfenceError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const error = new RootfenceError("timeout", "Cannot finish \"smart\": timed out after 60000 ms");
 * assert.equal(error.code, "timeout");
 * ```
 */
export class RootfenceError extends Error {
  /** Stable code for programs. */
  readonly code: ErrorCode;
  /** Extra facts, safe to show the caller. */
  readonly detail: ErrorDetail;

  /**
   * Makes an error with a stable code.
   *
   * @param code Stable error code.
   * @param message Sentence-case message: "Cannot <action>: <state>".
   * @param detail Extra facts for the caller.
   */
  constructor(code: ErrorCode, message: string, detail: ErrorDetail = {}) {
    super(message);
    this.name = "RootfenceError";
    this.code = code;
    this.detail = detail;
  }

  /** The error as the JSON the CLI and the receiver print. */
  toJSON(): { code: ErrorCode; message: string } & ErrorDetail {
    return { code: this.code, message: this.message, ...this.detail };
  }
}
