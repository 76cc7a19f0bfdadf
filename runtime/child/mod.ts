/**
 * The fenced child's entry: checks its own grants, then for each request line on stdin validates
 * the input again with the op's schema, runs the op's one host command and writes one reply
 * line to stdout. It exits when stdin ends.
 *
 * Run only by the launcher, as
 * `deno run <flags from buildChildCommand> runtime/child/mod.ts --op=<name> --bin=<name>=<path>
 * --mount-base=<dir>`. Needs run permission for the op's binaries and nothing else.
 *
 * @module
 */
import { findOp } from "../../ops/mod.ts";
import type { AnyOp, BinaryName, OpSettings } from "../../ops/types.ts";
import { parseArgs } from "../args.ts";
import { LineReader } from "../lines.ts";
import { tail } from "../../ops/_output.ts";
import { ChildReply, ChildRequest, issuesOf, MAX_REQUEST_BYTES } from "../protocol.ts";
import { killHostCommand, runHostCommand } from "./host_command.ts";

/** Grants a child must never hold; one of them means it was started outside the launcher. */
const FORBIDDEN: readonly Deno.PermissionDescriptor[] = [
  { name: "net" },
  { name: "read" },
  { name: "write" },
  { name: "env" },
  { name: "sys" },
  { name: "ffi" },
  { name: "run" },
];

/** Names of any grant the child holds beyond its scoped run list. */
export function excessGrants(): string[] {
  return FORBIDDEN.filter((d) => Deno.permissions.querySync(d).state === "granted")
    .map((d) => d.name);
}

interface ChildContext {
  readonly op: AnyOp;
  readonly binaries: ReadonlyMap<string, string>;
  readonly settings: OpSettings;
}

/**
 * Handles one request text and returns the reply; never throws for anything a request can cause.
 */
export async function handleRequest(context: ChildContext, text: string): Promise<ChildReply> {
  let request: ChildRequest;
  try {
    request = ChildRequest.parse(JSON.parse(text));
  } catch {
    return {
      ok: false,
      error: { code: "invalid_input", message: "Cannot read request: not one JSON document" },
    };
  }
  const { op, settings } = context;
  const parsed = op.schema(settings).safeParse(request.input);
  if (!parsed.success) {
    return {
      ok: false,
      error: {
        code: "invalid_input",
        message: `Cannot run "${op.name}": input does not match its schema`,
        issues: issuesOf(parsed.error),
      },
    };
  }
  const host = op.argv(parsed.data, settings);
  const path = context.binaries.get(host.binary);
  if (!op.permissions.run.includes(host.binary) || path === undefined) {
    return {
      ok: false,
      error: {
        code: "denied",
        message: `Cannot run "${host.binary}": not granted to op "${op.name}"`,
      },
    };
  }
  const argv = [path, ...host.args];
  let run;
  try {
    run = await runHostCommand(path, host.args);
  } catch (error) {
    const code = error instanceof Deno.errors.NotCapable
      ? "denied"
      : error instanceof Deno.errors.NotFound
      ? "binary_not_found"
      : "command_failed";
    return {
      ok: false,
      error: { code, message: `Cannot spawn "${path}": ${(error as Error).message}` },
    };
  }
  const command = {
    argv,
    exitCode: run.output.exitCode,
    signal: run.output.signal,
    durationMs: Math.round(run.durationMs),
    stdoutBytes: run.stdoutBytes,
    stderrBytes: run.stderrBytes,
    stdoutTruncated: run.output.stdoutTruncated,
    stderrTruncated: run.output.stderrTruncated,
    stderrTail: tail(run.output.stderr),
  };
  const outcome = op.parse(run.output, parsed.data);
  if (outcome.ok) return { ok: true, result: outcome.value, command };
  return {
    ok: false,
    error: { code: outcome.code, message: outcome.message, command },
  };
}

function contextFrom(args: string[]): ChildContext {
  const { values } = parseArgs({
    args,
    options: {
      op: { type: "string" },
      bin: { type: "string", multiple: true },
      "mount-base": { type: "string" },
    },
    strict: true,
  });
  const op = findOp(values.op ?? "");
  if (op === undefined) throw new RangeError(`Cannot start child: unknown op "${values.op}"`);
  const binaries = new Map<string, string>();
  for (const entry of values.bin ?? []) {
    const at = entry.indexOf("=");
    binaries.set(entry.slice(0, at) as BinaryName, entry.slice(at + 1));
  }
  const mountBase = values["mount-base"];
  if (mountBase === undefined) throw new RangeError("Cannot start child: --mount-base is missing");
  return { op, binaries, settings: { mountBase } };
}

async function writeAll(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

async function main(): Promise<void> {
  const context = contextFrom(Deno.args);
  const excess = excessGrants();
  if (excess.length > 0) {
    console.error(`Cannot start child: it holds grants outside its fence: ${excess.join(", ")}`);
    Deno.exit(3);
  }
  // sudo relays the launcher's SIGTERM here; take the host command down with us.
  Deno.addSignalListener("SIGTERM", () => {
    killHostCommand();
    Deno.exit(143);
  });
  // One request per line, one reply per line; a pooled child serves several before stdin ends.
  const requests = new LineReader(Deno.stdin.readable, MAX_REQUEST_BYTES);
  for (let next = await requests.next(); next !== undefined; next = await requests.next()) {
    const reply: ChildReply = "tooLong" in next
      ? {
        ok: false,
        error: { code: "invalid_input", message: "Cannot read request: larger than 1 MiB" },
      }
      : await handleRequest(context, next.line);
    await writeAll(JSON.stringify(reply) + "\n");
  }
  Deno.exit(0);
}

if (import.meta.main) await main();
