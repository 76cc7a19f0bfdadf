/**
 * The protocol between the launcher and a fenced child: a request on stdin, a reply on stdout,
 * and before the reply, for an op that streams progress, one {@linkcode ProgressMessage} per
 * line of its host command's output. The launcher validates every line, so a confused or hostile
 * child cannot hand it an arbitrary shape.
 *
 * @module
 */
import { z } from "zod";
import { MAX_PROGRESS_LINE_CHARS } from "./progress_cap.ts";

/** The most bytes a child accepts on stdin. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** What the launcher writes to the child's stdin. */
export const ChildRequest = z.strictObject({ input: z.unknown() });

/** {@linkcode ChildRequest} as a type. */
export type ChildRequest = z.infer<typeof ChildRequest>;

/** Facts about the host command a child ran, as an invocation reports them. */
export interface CommandFacts {
  /** The command line, binary resolved. */
  readonly argv: string[];
  /** Its exit code, or `null` when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it, e.g. `SIGKILL` at a timeout, else `null`. */
  readonly signal: string | null;
  /** How long it ran, in milliseconds. */
  readonly durationMs: number;
  /** Bytes it wrote to stdout, counted past the cap too. */
  readonly stdoutBytes: number;
  /** Bytes it wrote to stderr, counted past the cap too. */
  readonly stderrBytes: number;
  /** Whether stdout went over the cap and was cut. */
  readonly stdoutTruncated: boolean;
  /** Whether stderr went over the cap and was cut. */
  readonly stderrTruncated: boolean;
  /** The last lines of stderr, for the error message. */
  readonly stderrTail: string;
}

/** Facts about the host command a child ran: {@linkcode CommandFacts}, validated. */
export const CommandReport: z.ZodType<CommandFacts> = z.strictObject({
  argv: z.array(z.string()),
  exitCode: z.int().nullable(),
  signal: z.string().nullable(),
  durationMs: z.number().nonnegative(),
  stdoutBytes: z.int().nonnegative(),
  stderrBytes: z.int().nonnegative(),
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
  stderrTail: z.string(),
});

/** {@linkcode CommandReport} as a type. */
export type CommandReport = CommandFacts;

/** One line of a host command's output, streamed while it runs. */
export interface ProgressLine {
  /** Which of the command's streams it came from. */
  readonly stream: "stdout" | "stderr";
  /** The line: no control character but tab, valid Unicode, at most 1024 units. */
  readonly line: string;
  /** Present when the line was longer and this is its start. */
  readonly cut?: true | undefined;
}

/** The one marker after the last line a run may stream (see `progress_cap.ts`). */
export interface ProgressTruncated {
  /** Always `true`: later lines of the run are not streamed. */
  readonly truncated: true;
}

/** What a run streams before its reply: a line, or the truncation marker. */
export type Progress = ProgressLine | ProgressTruncated;

/** Printable text: no C0 control but tab, no DEL, no C1 (so no line break of any kind). */
// deno-lint-ignore no-control-regex -- refusing control characters is the point
const PROGRESS_TEXT = /^[^\x00-\x08\x0a-\x1f\x7f-\x9f]+$/;

/** {@linkcode Progress}, validated. */
export const ProgressFacts: z.ZodType<Progress> = z.union([
  z.strictObject({
    stream: z.enum(["stdout", "stderr"]),
    line: z.string().max(MAX_PROGRESS_LINE_CHARS).regex(PROGRESS_TEXT)
      .refine((line) => line.isWellFormed(), "must be valid Unicode"),
    cut: z.literal(true).optional(),
  }),
  z.strictObject({ truncated: z.literal(true) }),
]);

/**
 * A progress line on the child's stdout, before its reply.
 *
 * @example
 * ```ts
 * import { ProgressMessage } from "./protocol.ts";
 * import assert from "node:assert/strict";
 * const ok = { progress: { stream: "stdout", line: "extracting archive" } };
 * assert.ok(ProgressMessage.safeParse(ok).success);
 * const forged = { progress: { stream: "stdout", line: "a\n\nevent: finished" } };
 * assert.ok(!ProgressMessage.safeParse(forged).success);
 * ```
 */
export const ProgressMessage: z.ZodType<{ progress: Progress }> = z.strictObject({
  progress: ProgressFacts,
});

/** A zod issue as the caller sees it: where in the input, and what is wrong there. */
export interface Issue {
  /** The field's path in the input, e.g. `["device"]`. */
  path: (string | number)[];
  /** The rule the value broke, in words. */
  message: string;
}

/** {@linkcode Issue}, validated. */
export const Issue: z.ZodType<Issue> = z.strictObject({
  path: z.array(z.union([z.string(), z.number()])),
  message: z.string(),
});

/** The error half of a reply, as a type. */
export interface ReplyErrorFacts {
  /** A stable error code. */
  code: string;
  /** The message, "Cannot <action>: <state>". */
  message: string;
  /** For `invalid_input`: each field that failed. */
  issues?: Issue[] | undefined;
  /** The host command, when one ran. */
  command?: CommandFacts | undefined;
}

/**
 * The error half of a reply. Any code of the right shape parses; {@linkcode childReply} limits
 * it to the codes of the op that replies.
 */
export const ReplyError: z.ZodType<ReplyErrorFacts> = z.strictObject({
  code: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  message: z.string(),
  issues: z.array(Issue).optional(),
  command: CommandReport.optional(),
});

/** What the child writes to stdout, as a type: a result or an error. */
export type ChildReply =
  | { ok: true; result?: unknown; command: CommandFacts }
  | { ok: false; error: ReplyErrorFacts };

/** What the child writes to stdout: exactly one of these. */
export const ChildReply: z.ZodType<ChildReply> = z.discriminatedUnion("ok", [
  z.strictObject({ ok: z.literal(true), result: z.unknown(), command: CommandReport }),
  z.strictObject({ ok: z.literal(false), error: ReplyError }),
]);

/**
 * {@linkcode ChildReply} for one op: an error reply must carry one of `codes`, the runtime's and
 * that op's own (`errorCodes([op])` of the registry).
 *
 * @example
 * ```ts
 * import { childReply } from "./protocol.ts";
 * import assert from "node:assert/strict";
 * const reply = childReply(["timeout"]);
 * assert.ok(reply.safeParse({ ok: false, error: { code: "timeout", message: "m" } }).success);
 * assert.ok(!reply.safeParse({ ok: false, error: { code: "ct_exists", message: "m" } }).success);
 * ```
 */
export function childReply(codes: readonly string[]): z.ZodType<ChildReply> {
  return ChildReply.refine((reply) => reply.ok || codes.includes(reply.error.code), {
    message: "Error code is not one of the op's",
  });
}

/**
 * Turns zod issues into plain `{ path, message }` pairs (symbols in paths become strings).
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { issuesOf } from "./protocol.ts";
 * import assert from "node:assert/strict";
 * const result = z.strictObject({ vmid: z.int() }).safeParse({ vmid: "x" });
 * assert.deepEqual(issuesOf(result.error!).map((i) => i.path), [["vmid"]]);
 * ```
 */
export function issuesOf(error: z.ZodError): Issue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((part) => typeof part === "symbol" ? String(part) : part),
    message: issue.message,
  }));
}
