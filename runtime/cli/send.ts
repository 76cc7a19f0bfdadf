/**
 * `deno task send <op> [--<field> <value> ...] [--wait <s>] [--events] [--url ...]
 * [--key-file ...]`: signs an op's input with a key's secret, posts it to the receiver and prints
 * the job (or streams its events).
 *
 * Exit codes: 0 when the job succeeded (or was accepted, without --wait/--events), 1 when it
 * failed or the receiver answered 5xx, 2 for usage errors and 4xx answers.
 *
 * @module
 */
import { findOp, OPS } from "../../ops/mod.ts";
import { signedRequest } from "./client.ts";
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

const COMMON = {
  input: { type: "string" },
  wait: { type: "string" },
  events: { type: "boolean" },
  url: { type: "string" },
  "key-file": { type: "string" },
  key: { type: "string" },
  id: { type: "string" },
  "state-dir": { type: "string" },
  help: HELP,
} as const;

const USAGE = `Usage: deno task send <op> [--<field> <value> ...] [options]

Ops: ${OPS.map((op) => op.name).join(", ")} (fields: deno task op <op> --help)

Options:
  --wait <s>         ask the receiver to wait up to s seconds (Prefer: wait, at most 60)
  --events           stream the job's events until it finishes
  --url <url>        receiver (ROOTFENCE_URL; default http://127.0.0.1:8787)
  --key-file <file>  a file with one whsec_ secret, or a keys file
                     (default <state dir>/keys.json, ROOTFENCE_STATE_DIR or ./.rootfence)
  --key <id>         which key of a keys file (default: the first)
  --id <id>          the delivery id (default: random); resend the same id to retry safely
  --input <json>|-   the whole input as JSON`;

const FINAL = ["succeeded", "failed", "timed_out", "interrupted"];

function exitFor(status: string | undefined): number {
  return status === undefined || status === "succeeded" || !FINAL.includes(status) ? 0 : 1;
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

async function streamEvents(url: string, secret: string): Promise<string | undefined> {
  const response = await reach(await signedRequest(url, { secret }));
  if (!response.ok || response.body === null) {
    console.log(await response.text());
    return undefined;
  }
  let last: string | undefined;
  let buffer = "";
  for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event === undefined || data === undefined) continue;
      const job = JSON.parse(data);
      console.log(JSON.stringify({ event, job }));
      last = job.status;
    }
  }
  return last;
}

/** Runs the client and returns its exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === "--help" || name === "-h") return printUsage(USAGE);
  const op = name === undefined ? undefined : findOp(name);
  if (op === undefined) {
    const known = OPS.map((o) => o.name).join(", ");
    return printUsageError(
      name === undefined
        ? `Cannot send: name an op (${known})`
        : `Cannot send "${name}": no such op (known: ${known})`,
      COMMAND,
    );
  }
  try {
    // The receiver's settings are its own: the field flags only need their shape.
    const flags = fieldFlags(op, resolveSettings(OPS));
    const { values } = parseCli({
      args: [...rest],
      options: { ...COMMON, ...fieldOptions(flags) },
      strict: true,
    });
    if (values.help) return printUsage(USAGE);
    const wait = values.wait as string | undefined;
    if (wait !== undefined && !/^[0-9]{1,2}$/.test(wait)) {
      throw new UsageError(`Cannot use --wait "${wait}": give seconds, at most 60`);
    }
    const input = await inputFrom(flags, values);
    const base = (values.url as string | undefined) ?? Deno.env.get("ROOTFENCE_URL") ??
      `http://${RECEIVER_DEFAULTS.host}:${RECEIVER_DEFAULTS.port}`;
    const stateDir = serverFlag("state-dir", values["state-dir"], (name) => Deno.env.get(name));
    const keyFile = (values["key-file"] as string | undefined) ?? `${stateDir}/keys.json`;
    const secret = await clientSecret(keyFile, values.key as string | undefined);
    const request = await signedRequest(new URL(`/hooks/${op.name}`, base).href, {
      secret,
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
      return exitFor(await streamEvents(new URL(`/jobs/${body.jobId}/events`, base).href, secret));
    }
    return exitFor(body.status);
  } catch (error) {
    if (error instanceof UsageError || error instanceof RangeError) {
      return printUsageError(error, COMMAND);
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await runCli(main, COMMAND, Deno.args));
