/**
 * The fenced child's entry: checks its own grants, then for each request line on stdin validates
 * the input again with the op's schema, runs the op (its one host command, or the op's own
 * `execute` through a {@linkcode ChildHost}) and writes one reply line to stdout. It exits when
 * stdin ends.
 *
 * Run only by the launcher, as
 * `deno run <flags from buildChildCommand> runtime/child/mod.ts --op=<name> --bin=<name>=<path>
 * --<setting>=<value>...` (every op's settings, e.g. `--mount-base=/mnt/usb`). Needs run
 * permission for the op's binaries, read and write permission for the op's declared paths (if
 * any), and nothing else.
 *
 * @module
 */
import { OPS } from "../../ops/mod.ts";
import type { AnyOp, OpSettings, PathGrants } from "../../ops/types.ts";
import { decodeChildArgs } from "../process/child_args.ts";
import { LineReader } from "../process/lines.ts";
import { tail } from "../../ops/_output.ts";
import {
  type ChildReply,
  ChildRequest,
  type CommandReport,
  MAX_REQUEST_BYTES,
} from "../process/protocol.ts";
import { invalidInput } from "../invalid_input.ts";
import { ChildHost, HostError } from "./host.ts";
import {
  type HostRun,
  killHostCommand,
  runHostCommand,
  type RunHostCommandOptions,
} from "./host_command.ts";
import { ProgressSender } from "./progress_sender.ts";
import { writeAwaited, writeReply } from "./stdout.ts";

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

/** The paths of an op that declares none. */
const NO_PATHS: PathGrants = { read: [], write: [] };

/** Paths no child may read or write unless they lie inside its declared paths. */
const SENTINEL_PATHS: readonly string[] = [
  "/",
  "/etc",
  "/root",
  "/home",
  "/tmp",
  "/var",
  "/usr",
  "/opt",
  "/boot",
  "/dev",
  "/proc",
  "/sys",
  "/run",
  "/mnt",
  "/media",
  "/srv",
];

function inside(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path === root || path.startsWith(`${root}/`));
}

/**
 * Names of any grant the child holds beyond its scoped run list and declared paths: any
 * unscoped grant, and read or write of a sentinel path (`/`, `/etc`, ...) or of the directory
 * above a declared path, unless the declared paths cover it.
 *
 * @param declared The op's declared paths for the child's settings (none for most ops).
 */
export function excessGrants(declared: PathGrants = NO_PATHS): string[] {
  const excess: string[] = FORBIDDEN
    .filter((d) => Deno.permissions.querySync(d).state === "granted")
    .map((d) => d.name);
  for (const name of ["read", "write"] as const) {
    const own = declared[name];
    const parents = own.map((p) => p.slice(0, p.lastIndexOf("/")) || "/");
    for (const path of new Set([...SENTINEL_PATHS, ...parents])) {
      if (inside(path, own)) continue;
      if (Deno.permissions.querySync({ name, path }).state === "granted") {
        excess.push(`${name} ${path}`);
      }
    }
  }
  return excess;
}

interface ChildContext {
  readonly op: AnyOp;
  readonly binaries: ReadonlyMap<string, string>;
  readonly settings: OpSettings;
  /** Writes text whole to the launcher: where an op that streams progress sends its lines. */
  readonly write?: (text: string) => Promise<void>;
}

/**
 * Runs `request` with its output lines sent as progress, when the op streams progress; every
 * line is written before this resolves, so before the reply.
 */
async function withProgress<T>(
  context: ChildContext,
  request: (onLine: RunHostCommandOptions["onLine"]) => Promise<T>,
): Promise<T> {
  if (context.op.progress !== true || context.write === undefined) return await request(undefined);
  const sender = new ProgressSender(context.write);
  try {
    return await request((stream, line) => sender.send(stream, line));
  } finally {
    await sender.flushed();
  }
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
  if (!parsed.success) return { ok: false, error: invalidInput(op, parsed.error) };
  if (op.execute !== undefined) {
    return await withProgress(context, (onLine) => executeRequest(context, parsed.data, onLine));
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
  let run;
  try {
    run = await withProgress(
      context,
      (onLine) => runHostCommand(path, host.args, onLine ? { onLine } : {}),
    );
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
  const command = commandReport([path, ...host.args], run);
  const outcome = op.parse(run.output, parsed.data);
  if (outcome.ok) return { ok: true, result: outcome.value, command };
  return {
    ok: false,
    error: { code: outcome.code, message: outcome.message, command },
  };
}

function commandReport(argv: readonly string[], run: HostRun): CommandReport {
  return {
    argv: [...argv],
    exitCode: run.output.exitCode,
    signal: run.output.signal,
    durationMs: Math.round(run.durationMs),
    stdoutBytes: run.stdoutBytes,
    stderrBytes: run.stderrBytes,
    stdoutTruncated: run.output.stdoutTruncated,
    stderrTruncated: run.output.stderrTruncated,
    stderrTail: tail(run.output.stderr),
  };
}

/**
 * Runs an op that executes itself. The reply's command is the op's main command (`argv()`)
 * when it ran, else the last command run.
 */
async function executeRequest(
  context: ChildContext,
  input: unknown,
  onLine: RunHostCommandOptions["onLine"],
): Promise<ChildReply> {
  const { op, settings } = context;
  const paths = op.paths?.(settings) ?? NO_PATHS;
  const host = new ChildHost(op, context.binaries, paths, onLine ? { onLine } : {});
  let outcome;
  try {
    outcome = await op.execute!(input, settings, host);
  } catch (error) {
    const code = error instanceof HostError ? error.code : "child_failed";
    const message = error instanceof HostError
      ? error.message
      : `Cannot finish "${op.name}": ${(error as Error).message}`;
    const command = lastCommand(host, op.argv(input, settings).args);
    return { ok: false, error: { code, message, ...(command ? { command } : {}) } };
  }
  const command = lastCommand(host, op.argv(input, settings).args);
  if (outcome.ok) {
    if (command === undefined) {
      return {
        ok: false,
        error: {
          code: "child_failed",
          message: `Cannot report "${op.name}" as done: it ran no host command`,
        },
      };
    }
    return { ok: true, result: outcome.value, command };
  }
  return {
    ok: false,
    error: { code: outcome.code, message: outcome.message, ...(command ? { command } : {}) },
  };
}

function lastCommand(host: ChildHost, mainArgs: readonly string[]): CommandReport | undefined {
  const same = (argv: readonly string[]) =>
    argv.length === mainArgs.length + 1 && mainArgs.every((a, i) => argv[i + 1] === a);
  const record = host.runs.findLast((r) => same(r.argv)) ?? host.runs.at(-1);
  return record === undefined ? undefined : commandReport(record.argv, record.run);
}

function contextFrom(ops: readonly AnyOp[], argv: readonly string[]): ChildContext {
  // The launcher passes every setting; each is checked again here by its op's schema.
  const args = decodeChildArgs(argv, ops);
  const op = ops.find((o) => o.name === args.op);
  if (op === undefined) throw new RangeError(`Cannot start child: unknown op "${args.op}"`);
  return {
    op,
    binaries: new Map(Object.entries(args.bin)),
    settings: args.settings,
    write: writeAll,
  };
}

function writeAll(text: string): Promise<void> {
  return writeAwaited(new TextEncoder().encode(text));
}

/**
 * Runs the child: checks its grants, then serves request lines until stdin ends, and exits.
 * The sealed child serves the registry; a test entry may serve its own list of ops.
 *
 * @param ops The ops the child may serve; its `--op` names one of them.
 * @param args The child's arguments.
 */
export async function serveChild(
  ops: readonly AnyOp[],
  args: string[] = Deno.args,
): Promise<void> {
  const context = contextFrom(ops, args);
  const excess = excessGrants(context.op.paths?.(context.settings) ?? NO_PATHS);
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
  const requests = new LineReader(Deno.stdin, MAX_REQUEST_BYTES);
  for (let next = await requests.next(); next !== undefined; next = await requests.next()) {
    const reply: ChildReply = "tooLong" in next
      ? {
        ok: false,
        error: { code: "invalid_input", message: "Cannot read request: larger than 1 MiB" },
      }
      : await handleRequest(context, next.line);
    // Only an op that streams progress writes anything else on the pipe during a request.
    await writeReply(new TextEncoder().encode(JSON.stringify(reply) + "\n"), !context.op.progress);
  }
  Deno.exit(0);
}

if (import.meta.main) await serveChild(OPS);
