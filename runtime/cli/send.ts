/**
 * `deno task send`: the receiver's client. `send <op> [--<field> <value> ...] [--wait <s>]
 * [--events]` signs an op's input with a key's secret, posts it and prints the job (or streams
 * its events); `send jobs`, `send job <id>` and `send follow <id>` make the signed reads (over
 * `GET <path and query>`) that list the key's jobs, show one, and stream one's events until it
 * is final. Every command takes `--url`, `--key-file` and `--key`. Following a job survives a
 * dropped connection or a receiver restart: it reconnects with `Last-Event-ID` and goes on after
 * the last event it printed, each event printed once.
 *
 * Exit codes: 0 when the job succeeded (or is not final yet: accepted without --wait/--events,
 * or shown by `job`; and for every list), 1 when it failed or the receiver answered 5xx, 2 for
 * usage errors and 4xx answers, 3 when the receiver cannot be reached or an event stream ends
 * before its job does.
 *
 * Needs net access to the receiver and read access to the key file.
 *
 * @module
 */
import { findOp, OPS } from "../../ops/mod.ts";
import type { AnyOp } from "../../ops/types.ts";
import { signedRequest } from "./client.ts";
import { readEvents } from "./sse.ts";
import { fieldFlags, fieldOptions, inputFrom } from "./field_options.ts";
import { resolveSettings } from "../settings.ts";
import { RECEIVER_DEFAULTS } from "../defaults.ts";
import { serverFlag } from "../server/config.ts";
import { clientSecret } from "../keys_file.ts";
import {
  HELP,
  NeedError,
  parseCli,
  printUsage,
  printUsageError,
  runCli,
  UsageError,
} from "./usage.ts";

const COMMAND = "deno task send";

/** The options every command takes: where the receiver is, which key signs. */
const CONNECTION = {
  url: { type: "string" },
  "key-file": { type: "string" },
  key: { type: "string" },
  "state-dir": { type: "string" },
  help: HELP,
} as const;

/** The options of following events. */
const FOLLOW = {
  reconnect: { type: "string" },
} as const;

/** The options of a trigger, besides its field flags. */
const TRIGGER = {
  ...CONNECTION,
  ...FOLLOW,
  input: { type: "string" },
  wait: { type: "string" },
  events: { type: "boolean" },
  id: { type: "string" },
} as const;

const USAGE = `Usage: deno task send <op> [--<field> <value> ...] [options]
       deno task send jobs [--op <op>] [--status <status>] [--limit <n>] [options]
       deno task send job <job id> [options]
       deno task send follow <job id> [--after <event id>] [--reconnect <s>] [options]

Ops: ${OPS.map((op) => op.name).join(", ")} (fields: deno task op <op> --help)

  <op>               trigger the op, print the job (exit 1 when it failed)
  jobs               list the key's jobs, newest first (summaries; --limit 1..500, default 50)
  job <job id>       print one job whole (exit 1 when it failed)
  follow <job id>    print its events, one JSON line each, until it is final (exit 1 when it
                     failed): queued, started, each progress line (pct create's output),
                     truncated (once, at the cap) and finished

Options of <op>:
  --wait <s>         ask the receiver to wait up to s seconds (Prefer: wait, at most 60)
  --events           stream the job's events until it finishes (as follow)

Options of follow and --events:
  --after <id>       only the events after this event id (Last-Event-ID)
  --reconnect <s>    after a dropped stream, reconnect with Last-Event-ID for up to s seconds
                     without an event (default 60; 0: never)
  --id <id>          the delivery id (default: random); resend the same id to retry safely
  --input <json>|-   the whole input as JSON

Options of all:
  --url <url>        receiver (ROOTFENCE_URL; default http://127.0.0.1:8787)
  --key-file <file>  a file with one whsec_ secret, or a keys file
                     (default <state dir>/keys.json, ROOTFENCE_STATE_DIR or ./.rootfence)
  --key <id>         which key of a keys file (default: the first)`;

const STATUSES = ["queued", "running", "succeeded", "failed", "timed_out", "interrupted"];
const FINAL = STATUSES.slice(2);

/** A job's id, as the receiver gives it (a UUID). */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** 0 unless the job is final and did not succeed. */
function exitFor(status: string | undefined): number {
  return status === undefined || status === "succeeded" || !FINAL.includes(status) ? 0 : 1;
}

/** The receiver to talk to, and the secret that signs. */
interface Connection {
  readonly base: string;
  readonly secret: string;
}

/** Where the receiver is (`--url`) and which secret signs (`--key-file`, `--key`). */
async function connectionOf(values: Readonly<Record<string, unknown>>): Promise<Connection> {
  const base = (values.url as string | undefined) ?? Deno.env.get("ROOTFENCE_URL") ??
    `http://${RECEIVER_DEFAULTS.host}:${RECEIVER_DEFAULTS.port}`;
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol)) {
    throw new UsageError(`Cannot use --url "${base}": give http://<host>:<port>`);
  }
  const stateDir = serverFlag("state-dir", values["state-dir"], (name) => Deno.env.get(name));
  const keyFile = (values["key-file"] as string | undefined) ?? `${stateDir}/keys.json`;
  return { base, secret: await clientSecret(keyFile, values.key as string | undefined) };
}

/** Sends a request; a receiver that cannot be reached is a {@linkcode NeedError}. */
async function reach(request: Request): Promise<Response> {
  try {
    return await fetch(request);
  } catch (error) {
    const why = (error as Error).cause instanceof Error
      ? ((error as Error).cause as Error).message
      : (error as Error).message;
    throw new NeedError(
      `Cannot reach the receiver at ${new URL(request.url).origin}: ${why.split("\n")[0]}; ` +
        "is it running (deno task start)? Set --url or ROOTFENCE_URL for another one",
    );
  }
}

/**
 * Says in one line on stderr why the receiver refused `action` (the problem's detail and code);
 * returns the exit code: 2 for 4xx, 1 for 5xx.
 */
async function refused(response: Response, action: string): Promise<number> {
  const text = await response.text();
  let why = `${response.status} ${response.statusText}`;
  try {
    const problem = JSON.parse(text);
    if (typeof problem.detail === "string") {
      why = `${problem.detail} (${response.status} ${problem.code})`;
    }
  } catch {
    // not a problem document: the status says it
  }
  console.error(`rootfence: Cannot ${action}: ${why}`);
  return response.status >= 500 ? 1 : 2;
}

/** Makes a signed read of `path`; an answer that is not 200 is {@linkcode refused}. */
async function signedRead(
  connection: Connection,
  path: string,
  action: string,
): Promise<Response | number> {
  const url = new URL(path, connection.base).href;
  const response = await reach(await signedRequest(url, { secret: connection.secret }));
  return response.ok ? response : await refused(response, action);
}

/** How `follow` goes on after its stream drops. */
interface FollowOptions {
  /** Only events after this id (`Last-Event-ID`). */
  readonly after: string | undefined;
  /** How long to keep reconnecting without an event, in ms; 0 never reconnects. */
  readonly reconnectMs: number;
}

/** Answers worth another try while the receiver restarts or is busy. */
const TRANSIENT = [429, 502, 503];

/**
 * Prints a job's events, one JSON line each, until the `finished` one: `{ event, id, job }` for
 * `queued`, `started` and `finished`, `{ event, id, progress }` for `progress` and `truncated`.
 * When the stream drops first (the connection broke, the receiver restarted), it reconnects with
 * the last id it printed as `Last-Event-ID`, so it prints each event once; a receiver that gives
 * no ids is not resumed (it would repeat events).
 *
 * @returns The exit code of the job's final status, or of a refusal.
 * @throws {NeedError} When the stream ended before the job did and could not be resumed.
 */
async function followEvents(
  connection: Connection,
  jobId: string,
  options: FollowOptions,
): Promise<number> {
  const action = `follow job "${jobId}"`;
  const url = new URL(`/jobs/${jobId}/events`, connection.base).href;
  let lastId = options.after;
  let printed = 0;
  let status: string | undefined;
  /** When the stream dropped, while it is down. */
  let droppedAt: number | undefined;
  let pauseMs = 500;
  const retryLater = async (why: string) => {
    droppedAt ??= Date.now();
    const resumable = printed === 0 || lastId !== undefined;
    if (!resumable || options.reconnectMs === 0 || Date.now() - droppedAt > options.reconnectMs) {
      throw new NeedError(
        !resumable || options.reconnectMs === 0
          ? `Cannot ${action} to its end: the receiver ended the stream while the job was ` +
            `${status ?? "not yet reported"}; follow it again once the receiver is back`
          : `Cannot ${action} to its end: ${why} and stayed so for ` +
            `${options.reconnectMs / 1000} s; follow it again with --after ${lastId ?? 0}`,
      );
    }
    console.error(
      `rootfence: ${why}; resuming after event ${lastId ?? "none"} in ${pauseMs / 1000} s`,
    );
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    pauseMs = Math.min(pauseMs * 2, 5000);
  };
  for (;;) {
    const headers: Record<string, string> = lastId === undefined ? {} : { "last-event-id": lastId };
    let response: Response;
    try {
      response = await reach(await signedRequest(url, { secret: connection.secret, headers }));
    } catch (error) {
      if (droppedAt === undefined || !(error instanceof NeedError)) throw error;
      await retryLater("the receiver cannot be reached");
      continue;
    }
    if (!response.ok) {
      if (droppedAt === undefined || !TRANSIENT.includes(response.status)) {
        return await refused(response, action);
      }
      await response.body?.cancel();
      await retryLater(`the receiver answered ${response.status}`);
      continue;
    }
    try {
      for await (const event of readEvents(response.body!)) {
        const data = JSON.parse(event.data);
        const id = event.id === undefined ? undefined : Number(event.id);
        const state = ["queued", "started", "finished"].includes(event.event);
        console.log(JSON.stringify({ event: event.event, id, [state ? "job" : "progress"]: data }));
        printed++;
        lastId = event.id;
        status = data.status;
        droppedAt = undefined;
        pauseMs = 500;
        if (event.event === "finished") return exitFor(status);
      }
    } catch (error) {
      // The connection broke mid-stream: the same as an early end, handled below.
      if (error instanceof SyntaxError) throw error;
    }
    await retryLater(`the stream of job "${jobId}" dropped while it was ${status ?? "starting"}`);
  }
}

/** `--after` and `--reconnect` of follow and `--events`, checked. */
function followOptions(values: Readonly<Record<string, unknown>>): FollowOptions {
  const after = values.after as string | undefined;
  if (after !== undefined && !/^(?:0|[1-9][0-9]{0,8})$/.test(after)) {
    throw new UsageError(`Cannot use --after "${after}": give an event id, a whole number`);
  }
  const reconnect = (values.reconnect as string | undefined) ?? "60";
  if (!/^[0-9]{1,4}$/.test(reconnect)) {
    throw new UsageError(`Cannot use --reconnect "${reconnect}": give seconds, 0..9999`);
  }
  return { after, reconnectMs: Number(reconnect) * 1000 };
}

/** The one `<job id>` of `send job` and `send follow`. */
function jobIdOf(positionals: readonly string[], command: "job" | "follow"): string {
  const action = command === "job" ? "get a job" : "follow a job";
  const [id, ...extra] = positionals;
  if (id === undefined || extra.length > 0) {
    throw new UsageError(`Cannot ${action}: give one job id (deno task send ${command} <job id>)`);
  }
  if (!JOB_ID.test(id)) {
    throw new UsageError(
      `Cannot ${action}: "${id}" is not a job id (a UUID, from the trigger's answer or send jobs)`,
    );
  }
  return id.toLowerCase();
}

/** `send jobs`, `send job <id>` and `send follow <id>`. */
async function readJobs(command: "jobs" | "job" | "follow", args: string[]): Promise<number> {
  const filters = command === "jobs"
    ? { op: { type: "string" }, status: { type: "string" }, limit: { type: "string" } } as const
    : command === "follow"
    ? { ...FOLLOW, after: { type: "string" } } as const
    : {};
  const { values, positionals } = parseCli({
    args,
    options: { ...CONNECTION, ...filters },
    strict: true,
    allowPositionals: command !== "jobs",
  });
  if (values.help) return printUsage(USAGE);
  if (command === "jobs") {
    const v = values as Readonly<Record<string, string | undefined>>;
    const query = new URLSearchParams();
    if (v.op !== undefined) {
      if (findOp(v.op) === undefined) {
        throw new UsageError(
          `Cannot list jobs of op "${v.op}": no such op (known: ${
            OPS.map((o) => o.name).join(", ")
          })`,
        );
      }
      query.set("op", v.op);
    }
    if (v.status !== undefined) {
      if (!STATUSES.includes(v.status)) {
        throw new UsageError(
          `Cannot list jobs with status "${v.status}": use one of ${STATUSES.join(", ")}`,
        );
      }
      query.set("status", v.status);
    }
    if (v.limit !== undefined) {
      if (!/^[0-9]{1,3}$/.test(v.limit) || Number(v.limit) < 1 || Number(v.limit) > 500) {
        throw new UsageError(`Cannot use --limit "${v.limit}": give 1..500`);
      }
      query.set("limit", String(Number(v.limit)));
    }
    const connection = await connectionOf(values);
    const search = query.size > 0 ? `?${query}` : "";
    const response = await signedRead(connection, `/jobs${search}`, "list jobs");
    if (typeof response === "number") return response;
    console.log(JSON.stringify(await response.json(), null, 2));
    return 0;
  }
  const jobId = jobIdOf(positionals, command);
  const follow = command === "follow" ? followOptions(values) : undefined;
  const connection = await connectionOf(values);
  if (follow !== undefined) return await followEvents(connection, jobId, follow);
  const response = await signedRead(connection, `/jobs/${jobId}`, `get job "${jobId}"`);
  if (typeof response === "number") return response;
  const job = await response.json();
  console.log(JSON.stringify(job, null, 2));
  return exitFor(job.status);
}

/** `send <op> ...`: the trigger. */
async function trigger(op: AnyOp, args: string[]): Promise<number> {
  // The receiver's settings are its own: the field flags only need their shape.
  const flags = fieldFlags(op, resolveSettings(OPS));
  const { values } = parseCli({
    args,
    options: { ...TRIGGER, ...fieldOptions(flags) },
    strict: true,
  });
  if (values.help) return printUsage(USAGE);
  const wait = values.wait as string | undefined;
  if (wait !== undefined && !/^[0-9]{1,2}$/.test(wait)) {
    throw new UsageError(`Cannot use --wait "${wait}": give seconds, at most 60`);
  }
  const input = await inputFrom(flags, values);
  const follow = followOptions({ reconnect: values.reconnect });
  const connection = await connectionOf(values);
  const request = await signedRequest(new URL(`/hooks/${op.name}`, connection.base).href, {
    secret: connection.secret,
    body: JSON.stringify(input),
    ...(values.id === undefined ? {} : { id: values.id as string }),
    headers: wait === undefined ? {} : { prefer: `wait=${wait}` },
  });
  const response = await reach(request);
  const body = await response.json();
  console.log(JSON.stringify(body, null, 2));
  if (response.status >= 500) return 1;
  if (response.status >= 400) return 2;
  if (values.events && !FINAL.includes(body.status)) {
    return await followEvents(connection, body.jobId, follow);
  }
  return exitFor(body.status);
}

/** The reads `send` makes besides triggers; no op may take these names. */
const READS = ["jobs", "job", "follow"] as const;

/** Runs the client and returns its exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === "--help" || name === "-h") return printUsage(USAGE);
  try {
    const read = READS.find((r) => r === name);
    if (read !== undefined) return await readJobs(read, rest);
    const op = name === undefined ? undefined : findOp(name);
    if (op === undefined) {
      const known = OPS.map((o) => o.name).join(", ");
      throw new UsageError(
        name === undefined
          ? `Cannot send: name an op (${known}) or jobs, job or follow`
          : `Cannot send "${name}": no such op (known: ${known}) and not jobs, job or follow`,
      );
    }
    return await trigger(op, rest);
  } catch (error) {
    if (error instanceof UsageError || error instanceof RangeError) {
      return printUsageError(error, COMMAND);
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await runCli(main, COMMAND, Deno.args));
