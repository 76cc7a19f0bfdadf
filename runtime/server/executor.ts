/**
 * The executor: owns the keys, the journal, the scheduler and the child pool, and is the only
 * rootfence process with a run grant. It has no IP network at all: it answers the listener's
 * {@linkcode BridgeRequest} lines on one Unix socket, rebuilds each as a `Request` and runs it
 * through the Hono app, which verifies the signature on the forwarded raw bytes itself. So a
 * compromised listener can only replay what a key already signed, and idempotency stops that.
 *
 * Started by `deno task start` (runtime/server/start.ts) under the flags of
 * `buildExecutorCommand` (receiver_commands.ts). Everything it needs arrives as arguments, one
 * schema's worth (`executor_args.ts`).
 *
 * @module
 */
import { findOp, OPS } from "../../ops/mod.ts";
import type { OpSettings } from "../../ops/types.ts";
import { Launcher } from "../process/launcher.ts";
import { type Line, LineReader } from "../process/lines.ts";
import { createApp } from "./app.ts";
import type { AppBindings } from "./context.ts";
import { BridgeRequest, CHUNK_BYTES, fromBase64, MAX_LINE_BYTES, toBase64 } from "./bridge.ts";
import { decodeExecutorArgs } from "./executor_args.ts";
import { HostReadings } from "./host_readings.ts";
import { Journal } from "./journal.ts";
import { recordStart, sharesRuns, syncsRows } from "./run_policy.ts";
import { pruneJournal } from "./retention.ts";
import { lockStateDir } from "./state_lock.ts";
import { KeyringHolder } from "./keyring_holder.ts";
import { type Keyring, loadKeys } from "./keys.ts";
import { ReceiverMetrics } from "./receiver_metrics.ts";
import { Scheduler } from "./scheduler.ts";
import { assertStateTrusted } from "./state_trust.ts";

/** Log lines of the current turn, not written yet. */
let unwrittenLog: string[] = [];

/** Writes the lines logged so far, in one write. */
function flushLog(): void {
  if (unwrittenLog.length === 0) return;
  const text = unwrittenLog.join("\n");
  unwrittenLog = [];
  console.log(text);
}

/**
 * The receiver's event counters for `GET /metrics`: they see each job transition and journal
 * error in its log line.
 */
const receiverMetrics = new ReceiverMetrics();

/**
 * How long a log line may wait for others to share its write. A request logs four (the request,
 * its job's transitions), and one write to the log pipe cost 0.2 ms of the executor's time per
 * request at one connection; batching them takes that off every request.
 */
const LOG_FLUSH_MS = 50;

/** Past this many waiting lines, they are written at once. */
const LOG_FLUSH_LINES = 256;

/**
 * One JSON log line. Lines go out together in one write, at most {@linkcode LOG_FLUSH_MS} later,
 * after the answers they describe, not one by one before them. Call {@linkcode flushLog} before
 * exiting.
 */
function log(line: Record<string, unknown>): void {
  receiverMetrics.observe(line);
  if (unwrittenLog.length === 0) setTimeout(flushLog, LOG_FLUSH_MS);
  unwrittenLog.push(JSON.stringify(line));
  if (unwrittenLog.length >= LOG_FLUSH_LINES) flushLog();
}

type Fetch = (request: Request, env: AppBindings) => Response | Promise<Response>;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

function writeLine(conn: Deno.Conn, value: unknown): Promise<void> {
  return writeAll(conn, new TextEncoder().encode(JSON.stringify(value) + "\n"));
}

/** How long a connection may take to send its request line; the listener sends it at once. */
const REQUEST_LINE_MS = 5_000;

/** Connections allowed to be waiting for their request line; past this, one is closed unread. */
const MAX_AWAITING_LINE = 1024;

/** Request lines read at once: each may buffer up to {@linkcode MAX_LINE_BYTES}. */
const MAX_READING = 64;

let awaitingLine = 0;
let freeReaders = MAX_READING;
const readerQueue = new Set<() => void>();

/** Waits for one of the {@linkcode MAX_READING} line buffers; `false` when `signal` ends first. */
function takeReader(signal: AbortSignal): Promise<boolean> {
  if (freeReaders > 0) {
    freeReaders--;
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const grant = () => {
      signal.removeEventListener("abort", giveUp);
      resolve(true);
    };
    const giveUp = () => {
      readerQueue.delete(grant);
      resolve(false);
    };
    readerQueue.add(grant);
    signal.addEventListener("abort", giveUp, { once: true });
  });
}

function releaseReader(): void {
  const next = readerQueue.values().next();
  if (next.done) freeReaders++;
  else {
    readerQueue.delete(next.value);
    next.value();
  }
}

function aborted(signal: AbortSignal): Promise<undefined> {
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(undefined)));
}

/**
 * Waits for a connection's next request line (the first, or the next once an answer ended).
 * The line must arrive within {@linkcode REQUEST_LINE_MS}, at most {@linkcode MAX_AWAITING_LINE}
 * connections wait for theirs and at most {@linkcode MAX_READING} buffer one, so idle or
 * flooding peers can neither fill the heap nor use up file descriptors. `undefined`: close it.
 */
async function requestLine(read: () => Promise<Line>): Promise<string | undefined> {
  const late = new AbortController();
  const timer = setTimeout(() => late.abort(), REQUEST_LINE_MS);
  awaitingLine++;
  let buffering = false;
  try {
    if (awaitingLine > MAX_AWAITING_LINE) return undefined;
    buffering = await takeReader(late.signal);
    if (!buffering) return undefined;
    // Read only with a buffer granted: a flood of partial lines waits unread.
    const line = await Promise.race([read(), aborted(late.signal)]);
    return line === undefined || "tooLong" in line ? undefined : line.line;
  } finally {
    clearTimeout(timer);
    if (buffering) releaseReader();
    awaitingLine--;
  }
}

/**
 * Answers one request: one line with head and body, or a head, chunks and an end. Throws when
 * the listener went away.
 */
async function answer(
  conn: Deno.Conn,
  request: BridgeRequest,
  fetch: Fetch,
  gone: AbortSignal,
): Promise<void> {
  // The body goes to the app as bytes beside the Request (`AppBindings`), not inside it: a
  // Request body would be copied in and read back out through a stream.
  const body = request.method === "GET" || request.method === "HEAD"
    ? undefined
    : fromBase64(request.body);
  const response = await fetch(
    new Request(`http://rootfence${request.path}`, {
      method: request.method,
      headers: request.headers,
      signal: gone,
    }),
    body === undefined ? {} : { body },
  );
  const head = { status: response.status, headers: [...response.headers] };
  if (!response.headers.get("content-type")?.startsWith("text/event-stream")) {
    // A whole answer (all but event streams) goes in one write: one line when it fits.
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length <= CHUNK_BYTES) {
      const line = JSON.stringify({ ...head, body: toBase64(bytes) });
      // Headers count too: a line over the listener's cap would be refused.
      if (line.length < MAX_LINE_BYTES) {
        return await writeAll(conn, new TextEncoder().encode(line + "\n"));
      }
    }
    const lines = [JSON.stringify(head)];
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
      lines.push(JSON.stringify({ chunk: toBase64(bytes.subarray(at, at + CHUNK_BYTES)) }));
    }
    lines.push(JSON.stringify({ end: true }), "");
    await writeAll(conn, new TextEncoder().encode(lines.join("\n")));
    return;
  }
  await writeLine(conn, head);
  if (response.body !== null) {
    const reader = response.body.getReader();
    gone.addEventListener("abort", () => void reader.cancel().catch(() => {}));
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      for (let at = 0; at < next.value.length; at += CHUNK_BYTES) {
        await writeLine(conn, { chunk: toBase64(next.value.subarray(at, at + CHUNK_BYTES)) });
      }
    }
  }
  await writeLine(conn, { end: true });
}

/**
 * Serves one listener connection: request lines in, one at a time, each answered in full
 * before the next is read. The listener keeps connections for later requests
 * (`bridge_connections.ts`); one idle past {@linkcode REQUEST_LINE_MS} is closed here.
 */
export async function serveBridge(conn: Deno.Conn, fetch: Fetch): Promise<void> {
  const lines = new LineReader(conn, MAX_LINE_BYTES);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  try {
    let read = () => lines.next();
    while (true) {
      const line = await requestLine(read);
      if (line === undefined) return;
      let request: BridgeRequest;
      try {
        request = BridgeRequest.parse(JSON.parse(line));
      } catch {
        return;
      }
      // The next read runs while this request is served: the end of the stream (the listener
      // closed it, its client went away) ends the answer, and so does a line sent before the
      // answer's end, which the protocol forbids.
      const gone = new AbortController();
      let answering = true;
      const following = lines.next();
      following.then((next) => {
        if (!answering) return;
        gone.abort();
        // The listener hung up: its descriptor goes now, not once a handler that does not
        // watch the signal (a `Prefer: wait`) is done. Read straight from the connection, the
        // end closes nothing by itself, as a stream's did.
        if (next === undefined) close();
      }, () => {
        gone.abort();
        close();
      });
      read = () => following;
      try {
        await answer(conn, request, fetch, gone.signal);
      } catch (error) {
        // Ends what still streams for it (an event stream's reader, a waiting request).
        gone.abort();
        throw error;
      }
      answering = false;
      if (gone.signal.aborted) return;
    }
  } catch {
    // The listener went away mid-answer; nothing to tell it.
  } finally {
    close();
  }
}

/**
 * The last resort: an error nobody caught becomes one structured log line, and the executor
 * goes on serving; a journal that cannot be written is answered 503, never a dead process.
 */
function keepServing(): void {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    log({ t: new Date().toISOString(), kind: "unhandled", message: String(event.reason) });
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    log({ t: new Date().toISOString(), kind: "unhandled", message: String(event.error) });
  });
}

/** When the machine booted, to the second. Needs `--allow-sys=osUptime`. */
function bootTime(): number {
  return Math.round((Date.now() - Deno.osUptime() * 1000) / 1000) * 1000;
}

/**
 * Checks the state dir and the keys file, then loads the whole keyring: at start, and again on
 * each SIGHUP. The starter also checked the directories above; this process may read only its
 * own files (a secret file it was not started with is refused by its read grant).
 */
async function trustedKeys(
  args: { readonly stateDir: string; readonly keysFile: string; readonly settings: OpSettings },
  uid: number,
): Promise<Keyring> {
  const { stateDir, keysFile, settings } = args;
  await assertStateTrusted({ stateDir, keysFile, uid, ancestors: false });
  // Scopes are checked against the ops' schemas under the settings this executor runs with.
  return await loadKeys(keysFile, { uid, settings });
}

/** What the log says of the keys: ids and ops, never a secret. */
function keysSeen(keyring: Keyring): { id: string; ops: readonly string[] }[] {
  return keyring.keys.map((k) => ({ id: k.id, ops: k.ops }));
}

/** What the log says of the metrics tokens: how many, never one. */
function tokensSeen(keyring: Keyring): number {
  return keyring.metricsTokens?.size ?? 0;
}

async function main(argv: readonly string[]): Promise<void> {
  const args = decodeExecutorArgs(argv);
  const uid = Deno.uid()!;
  let keyring: KeyringHolder;
  try {
    keyring = new KeyringHolder(await trustedKeys(args, uid));
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
  // SIGHUP reloads the keys (its default would end the process). A new file is checked whole
  // before it replaces the keys in force; on any error the old keys stay, and one line says why.
  // Requests in flight, event streams and jobs are untouched: see keyring_holder.ts.
  Deno.addSignalListener("SIGHUP", async () => {
    const t = () => new Date().toISOString();
    try {
      const loaded = await keyring.reload(() => trustedKeys(args, uid));
      log({
        t: t(),
        kind: "keys_reloaded",
        keys: keysSeen(loaded),
        metricsTokens: tokensSeen(loaded),
      });
    } catch (error) {
      const why = String((error as Error).message).split("\n")[0];
      log({ t: t(), kind: "keys_reload_failed", message: `${why}; the keys in force stay` });
    }
  });
  // One executor per state dir, for its whole life: taken before the journal is even opened, so
  // a second one can neither recover nor run the first one's jobs, nor take its socket.
  const lock = await lockStateDir(args.stateDir);
  if (typeof lock === "string") {
    console.error(lock);
    Deno.exit(1);
  }
  let journal: Journal;
  try {
    // Only a mutating op's rows are synced before the answer: see the journal's module doc.
    journal = Journal.open(`${args.stateDir}/journal.db`, {
      synced: syncsRows,
      checkpoints: "background",
    });
  } catch (error) {
    console.error(`rootfence: ${(error as Error).message}`);
    Deno.exit(1);
  }
  const launcher = await Launcher.create({
    binPath: args.binPath,
    settings: args.settings,
    runner: args.runner,
    sudoPath: args.sudoPath,
    denoPath: args.denoPath,
    killPath: args.killPath,
    binaries: args.bin,
    baseProblems: args.baseProblems,
    pool: { size: args.poolSize, maxUses: args.poolUses, idleMs: args.poolIdleMs },
  });
  launcher.warm(OPS);
  // The machine's boot time, read once (it cannot change while this process lives).
  const booted = bootTime();
  const scheduler = new Scheduler({
    journal,
    log,
    maxRunning: args.maxRunning,
    maxQueued: args.maxQueued,
    // Identical reads share a run; a mutating op's job always runs on its own.
    shares: sharesRuns,
    run: (job, signal, progress) =>
      launcher.invoke(findOp(job.op)!, job.input, {
        signal,
        onProgress: progress,
        onStart: recordStart(journal, job, booted, log),
      }),
    groups: {
      alive: (pgid) => launcher.groupAlive(pgid),
      kill: (pgid) => launcher.killGroup(pgid),
      boot: () => booted,
    },
  });
  const recovered = scheduler.recover();
  const closing = new AbortController();
  const host = new HostReadings({
    scheduler,
    journal,
    settings: launcher.settings,
    maxAgeMs: { smart: args.metricsSmartMaxAgeMs, sensors: args.metricsSensorsMaxAgeMs },
  });
  const app = createApp({
    scheduler,
    journal,
    keyring,
    settings: launcher.settings,
    log,
    closing: closing.signal,
    metrics: {
      receiver: receiverMetrics,
      host,
      pool: () => {
        const pool = launcher.pool;
        return pool === undefined ? [] : OPS.map((op) => ({ op: op.name, ...pool.children(op) }));
      },
    },
  });
  const socket = args.socket;
  // Holding the lock, whatever socket is still there was left by a dead executor.
  const stale = await Deno.lstat(socket).catch(() => undefined);
  if (stale !== undefined && !stale.isSocket) {
    console.error(`Cannot start: "${socket}" exists and is not a socket; remove it`);
    Deno.exit(1);
  }
  if (stale !== undefined) await Deno.remove(socket);
  const listener = Deno.listen({ transport: "unix", path: socket });
  const bound = (await Deno.lstat(socket)).ino;
  const group = args.socketGroup;
  if (group !== undefined) {
    // Only the listener's group may connect; everyone else is refused by the kernel.
    await Deno.chown(socket, null, group);
    await Deno.chmod(socket, 0o660);
  } else await Deno.chmod(socket, 0o600);
  log({
    t: new Date().toISOString(),
    kind: "ready",
    pid: Deno.pid,
    socket,
    keys: keysSeen(keyring.current),
    metricsTokens: tokensSeen(keyring.current),
    interrupted: recovered.interrupted.length,
    orphans: recovered.orphans,
    requeued: recovered.requeued,
  });
  // From here on, an error nobody caught is logged and serving goes on; before, it ends the
  // start with exit 1 (see the bottom of this file), so systemd sees a failed start.
  keepServing();
  const connections = new Set<Promise<void>>();
  let stopping = false;
  const retention = {
    maxAgeMs: args.retentionMs,
    maxJobs: args.retentionJobs,
  };
  const prune = async () => {
    try {
      const jobs = await pruneJournal(journal, retention, Date.now());
      if (jobs > 0) log({ t: new Date().toISOString(), kind: "pruned", jobs });
    } catch (error) {
      log({ t: new Date().toISOString(), kind: "journal_error", message: String(error) });
    }
  };
  // At start and then hourly, in the background, a small batch per turn.
  setTimeout(prune, 1000);
  Deno.unrefTimer(setInterval(prune, 3_600_000));
  // Accepting goes on while running jobs drain: the app itself answers 503 draining, replays
  // and job reads then. Only closing the socket ends it.
  let accepting = true;
  const serving = (async () => {
    while (accepting) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (!accepting || error instanceof Deno.errors.BadResource) return;
        // Out of descriptors for a moment: say so and keep accepting, never go deaf.
        log({ t: new Date().toISOString(), kind: "accept_failed", error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const done = serveBridge(conn, app.fetch).finally(() => connections.delete(done));
      connections.add(done);
    }
  })();
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ t: new Date().toISOString(), kind: "stopping", signal, ...scheduler.load });
    await scheduler.shutdown(args.graceMs);
    await launcher.close();
    closing.abort();
    accepting = false;
    listener.close();
    await serving;
    await Promise.race([Promise.all(connections), new Promise((r) => setTimeout(r, 1000))]);
    journal.close();
    // Only our own socket: never one that another executor bound since.
    if ((await Deno.lstat(socket).catch(() => undefined))?.ino === bound) {
      await Deno.remove(socket).catch(() => undefined);
    }
    lock.close();
    log({ t: new Date().toISOString(), kind: "stopped" });
    flushLog();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
  if (args.stopWithStdin) {
    // The starter holds our stdin open; when it dies, however, stdin ends and so do we.
    void (async () => {
      for await (const _ of Deno.stdin.readable);
      await shutdown("starter gone");
    })();
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(`rootfence: Cannot start the executor: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
