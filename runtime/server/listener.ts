/**
 * The listener: the only rootfence process that parses HTTP. It holds no keys, no journal and
 * no run grant: it reads each request (body capped), forwards it over the executor's Unix
 * socket as one {@linkcode BridgeRequest} line and streams the executor's answer back. A bug
 * here can only send the executor requests, which the executor verifies itself.
 *
 * Runs as `dist/listener.js` (bundled, so it loads no Deno cache and a service user needs only
 * to read that one file), started by `deno task start` or its systemd unit as:
 * `deno run <sealed flags> --allow-net=<host>:<port>,unix:<socket> --allow-read=<socket>
 * --allow-write=<socket> dist/listener.js --host=<host> --port=<port> --socket=<socket>`; with
 * `--listen-path=<path>` (a Unix socket) or `--listen-fd=3` (systemd's) instead of host and port,
 * and `--cert`/`--key` for TLS, each with its grants (`receiver_commands.ts`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  BridgeReply,
  BridgeRequest,
  bridgeRequest,
  forwardedHeaders,
  fromBase64,
  MAX_BODY_BYTES,
} from "./bridge.ts";
import {
  type BridgeConnection,
  type BridgeConnections,
  connectionsTo,
} from "./bridge_connections.ts";
import { GuardedServer, type ListenTarget } from "./guarded_http.ts";
import { clearStaleSocket } from "./listen_socket.ts";
import { decodeListenerArgs, type ListenerArgs } from "./listener_args.ts";
import { PROBLEMS } from "./problems.ts";
import { loadTlsPair, type TlsPair } from "./tls_pair.ts";

/**
 * How long the executor may take to answer with a head: the longest `Prefer: wait` (60 s) and
 * a margin. A stuck executor then costs a client a 502, not a connection held forever.
 */
const HEAD_TIMEOUT_MS = 75_000;

/** How long in-flight requests get to finish after SIGTERM or SIGINT. */
const SHUTDOWN_MS = 75_000;

/**
 * A Unix socket's mode: the listener's user and group may connect (a reverse proxy in that
 * group), nobody else.
 */
const SOCKET_MODE = 0o660;

/** An answer as it reaches the listener: its head now, its body chunk by chunk. */
export interface Answer {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  /** The next body chunk, or `undefined` at the end; rejects when the executor broke off. */
  next(): Promise<Uint8Array | undefined>;
  /** Whether the next chunk (or the end) is here already, so `next()` waits for nothing. */
  readonly ready: boolean;
  /** Gives up the rest of the body (the client went away); its connection is not kept. */
  cancel(): void;
}

/** An answer whose body is all here. */
function whole(
  status: number,
  headers: readonly (readonly [string, string])[],
  bytes: Uint8Array,
): Answer {
  let body: Uint8Array | undefined = bytes;
  return {
    status,
    headers,
    next() {
      const chunk = body;
      body = undefined;
      return Promise.resolve(chunk);
    },
    ready: true,
    cancel: () => body = undefined,
  };
}

/** The listener's own answer: a problem document. */
function problem(status: number, code: string, detail: string): Answer {
  const title = (PROBLEMS as Record<string, readonly [number, string]>)[code]?.[1] ?? code;
  const body = JSON.stringify({
    type: `urn:rootfence:problem:${code}`,
    title,
    status,
    code,
    detail,
  });
  return whole(
    status,
    [["content-type", "application/problem+json"]],
    new TextEncoder().encode(body),
  );
}

/**
 * Whether an answer to `method` with `status` has no body (a streamed answer's bridge connection
 * is then closed, not kept; one that came in one line was kept already).
 */
function bodiless(method: string, status: number): boolean {
  return method === "HEAD" || status === 204 || status === 304;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** Thrown when the executor ended the connection before any byte of an answer. */
class EndedUnanswered extends Error {}

async function nextReply(connection: BridgeConnection): Promise<BridgeReply> {
  const next = await connection.next();
  if (next === undefined) throw new EndedUnanswered("the executor closed the connection");
  if ("tooLong" in next) throw new Error("the executor sent an oversized line");
  return BridgeReply.parse(JSON.parse(next.line));
}

/**
 * Sends the request line and reads the answer's head on a kept connection. A kept connection
 * the executor ended before answering (it restarted, or closed it idle just then) is retried
 * once on a new one: the executor never started on a request it did not answer with a byte...
 * except when it crashed mid-request, and then a trigger's `webhook-id` makes the retry the
 * same job, not a second run.
 */
async function ask(
  connections: BridgeConnections,
  bytes: Uint8Array,
  signal: AbortSignal,
): Promise<{ connection: BridgeConnection; head: BridgeReply } | "unavailable" | "failed"> {
  for (let fresh = false;; fresh = true) {
    let connection: BridgeConnection;
    try {
      connection = await connections.take(fresh);
    } catch {
      return "unavailable";
    }
    const close = () => connection.close();
    signal.addEventListener("abort", close, { once: true });
    // A client that left while the connection was taken fired no listener: end it now.
    if (signal.aborted) close();
    const late = setTimeout(close, HEAD_TIMEOUT_MS);
    try {
      await writeAll(connection.conn, bytes);
      return { connection, head: await nextReply(connection) };
    } catch (error) {
      connection.close();
      const retry = connection.reused && !signal.aborted &&
        (error instanceof EndedUnanswered || error instanceof Deno.errors.BrokenPipe ||
          error instanceof Deno.errors.ConnectionReset);
      if (!retry) return "failed";
    } finally {
      clearTimeout(late);
      signal.removeEventListener("abort", close);
    }
  }
}

/** A request whose body is in: what {@linkcode relay} forwards. */
export interface Received {
  readonly method: string;
  readonly path: string;
  /** Only the forwarded ones (`forwardedHeaders`). */
  readonly headers: [string, string][];
  readonly body: Uint8Array;
}

/**
 * Forwards one request to the executor and returns its answer, the body chunk by chunk. A kept
 * connection goes back for the next request once the answer ended cleanly.
 */
export async function relay(
  request: Received,
  socket: string,
  signal: AbortSignal,
): Promise<Answer> {
  let line;
  try {
    line = bridgeRequest(request.method, request.path, request.headers, request.body);
  } catch {
    return problem(400, "bad_request", "The method, path or a header cannot be forwarded");
  }
  const connections = connectionsTo(socket);
  const asked = await ask(
    connections,
    new TextEncoder().encode(JSON.stringify(line) + "\n"),
    signal,
  );
  if (asked === "unavailable") {
    return problem(503, "executor_unavailable", "The executor is not reachable");
  }
  if (asked === "failed" || !("status" in asked.head)) {
    if (asked !== "failed") asked.connection.close();
    return problem(502, "executor_failed", "The executor gave no valid answer");
  }
  const { connection, head } = asked;
  if ("body" in head) {
    // The whole answer: the connection has nothing more for this request.
    connections.give(connection);
    return whole(head.status, head.headers, fromBase64(head.body));
  }
  // The client going away ends the answer: the executor sees the close and stops with it.
  const close = () => connection.close();
  signal.addEventListener("abort", close, { once: true });
  if (signal.aborted) close();
  let ended = false;
  const done = (clean: boolean) => {
    if (ended) return;
    ended = true;
    signal.removeEventListener("abort", close);
    if (clean && !signal.aborted) connections.give(connection);
    else connection.close();
  };
  return {
    status: head.status,
    headers: head.headers,
    async next() {
      if (ended) return undefined;
      try {
        const reply = await nextReply(connection);
        if ("chunk" in reply) return fromBase64(reply.chunk);
        if ("end" in reply) return void done(true);
        throw new Error("a second head");
      } catch (error) {
        done(false);
        throw error;
      }
    },
    get ready() {
      return ended || connection.buffered;
    },
    cancel: () => done(false),
  };
}

/**
 * Reads a `node:http` request's body, or `undefined` as soon as it is over `max` bytes (a
 * declared length over the cap is refused unread). Rejects when the connection goes first,
 * for instance at the body deadline.
 */
function readNodeBody(request: IncomingMessage, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers["content-length"] ?? 0);
  if (!(declared <= max)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let size = 0;
    request.on("data", (chunk: Uint8Array) => {
      size += chunk.length;
      if (size > max) {
        request.removeAllListeners("data");
        request.pause();
        resolve(undefined);
      } else parts.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(parts)));
    request.on("error", reject);
    request.on("close", () => reject(new Error("the connection closed")));
  });
}

/** The most of an answer held back to send it whole; past this it streams. */
const WHOLE_BYTES = 256 * 1024;

/**
 * The chunks of an answer that are here already, up to its end: the whole body, when they reach
 * it (all but event streams arrive in one piece); else what came so far, at most about
 * {@linkcode WHOLE_BYTES}.
 */
async function arrived(answer: Answer): Promise<{ chunks: Uint8Array[]; whole: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (answer.ready && size <= WHOLE_BYTES) {
    const chunk = await answer.next();
    if (chunk === undefined) return { chunks, whole: true };
    chunks.push(chunk);
    size += chunk.length;
  }
  return { chunks, whole: false };
}

/** Writes an answer to a `node:http` response, honouring backpressure. */
async function send(answer: Answer, method: string, response: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [name, value] of answer.headers) {
    // The framing is this connection's own, never what the executor says it is.
    if (name === "content-length" || name === "transfer-encoding") continue;
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  response.on("close", () => answer.cancel());
  // A client gone while the answer was asked for: its close has been and gone.
  if (response.destroyed) answer.cancel();
  if (bodiless(method, answer.status)) {
    answer.cancel();
    return void response.writeHead(answer.status, headers).end();
  }
  try {
    const { chunks, whole } = await arrived(answer);
    if (whole) {
      // One write, with its length: no chunked framing for an answer that is all here.
      const body = Buffer.concat(chunks);
      headers["content-length"] = String(body.length);
      return void response.writeHead(answer.status, headers).end(body);
    }
    response.writeHead(answer.status, headers);
    for (const chunk of chunks) response.write(chunk);
    for (let chunk = await answer.next(); chunk !== undefined; chunk = await answer.next()) {
      if (!response.write(chunk)) {
        await new Promise((resolve) => {
          response.once("drain", resolve);
          response.once("close", resolve);
        });
      }
    }
  } catch {
    // The executor broke off, or the client went away. Before the head a 502 says so; after it,
    // the connection is cut, never ended cleanly, so no client takes a cut body for a whole one.
    if (!response.headersSent) {
      return void await send(
        problem(502, "executor_failed", "The executor gave no valid answer"),
        method,
        response,
      );
    }
    return void response.destroy();
  }
  response.end();
}

/**
 * Answers one `node:http` request: the body is read under the guard's deadline, then the
 * request is relayed and the answer streamed back.
 */
async function handle(
  guard: GuardedServer,
  socket: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const gone = new AbortController();
  // Only a client that went before its answer ended (a close after it is the usual end).
  response.on("close", () => response.writableFinished || gone.abort());
  const method = request.method ?? "";
  if (!BridgeRequest.shape.method.safeParse(method).success) {
    return void await send(
      problem(405, "method_not_allowed", `The receiver does not serve ${method}`),
      method,
      response,
    );
  }
  let body;
  try {
    body = await readNodeBody(request, MAX_BODY_BYTES);
  } catch {
    return;
  }
  if (body === undefined) {
    // Not drained: the rest of an oversized body is never read, the connection just ends.
    response.setHeader("connection", "close");
    response.on("finish", () => request.socket.destroy());
    return void await send(
      problem(413, "body_too_large", `The body is over ${MAX_BODY_BYTES} bytes`),
      method,
      response,
    );
  }
  guard.answering(request.socket);
  const headers = forwardedHeaders(request.rawHeaders);
  const path = request.url ?? "/";
  await send(await relay({ method, path, headers, body }, socket, gone.signal), method, response);
}

/** Where the listener listens, from its arguments. */
function targetOf(args: ListenerArgs): ListenTarget {
  if (args.listenPath !== undefined) return { path: args.listenPath };
  if (args.listenFd !== undefined) return { fd: args.listenFd };
  return { host: args.host!, port: args.port! };
}

/** Ends the listener at start with one line saying what to fix. */
function refuse(error: unknown): never {
  console.error(`rootfence: ${(error as Error).message ?? error}`);
  Deno.exit(1);
}

async function main(): Promise<void> {
  const args = decodeListenerArgs(Deno.args);
  const log = (line: Record<string, unknown>) =>
    console.log(JSON.stringify({ t: new Date().toISOString(), ...line }));
  const { cert, key } = args;
  const guard = new GuardedServer(
    {
      maxConnections: args.maxConnections,
      headerTimeoutMs: args.headerTimeoutMs,
      bodyTimeoutMs: args.bodyTimeoutMs,
    },
    (request, response) => void handle(guard, args.socket, request, response),
    log,
  );
  // SIGHUP: the certificate and key are read again, whole; on any problem the pair in force
  // stays. Open connections keep theirs. Without TLS there is nothing to reload, but a SIGHUP
  // (a reload of the receiver) must not end the listener either: so this comes before anything
  // that waits.
  let reloading: Promise<unknown> = Promise.resolve();
  Deno.addSignalListener("SIGHUP", () => {
    if (cert === undefined || key === undefined) return;
    reloading = reloading.then(async () => {
      try {
        const next = await loadTlsPair(cert, key, Deno.uid()!);
        guard.setSecureContext(next);
        log({ kind: "tls_reloaded", fingerprint: next.fingerprint, validTo: next.validTo });
      } catch (error) {
        log({ kind: "tls_reload_failed", message: (error as Error).message });
      }
    });
  });
  let pair: TlsPair | undefined;
  if (cert !== undefined && key !== undefined) {
    // A reload asked for meanwhile waits for this first load, and so comes after it.
    const first = loadTlsPair(cert, key, Deno.uid()!);
    reloading = first.catch(() => undefined);
    pair = await first.catch(refuse);
    guard.setSecureContext(pair);
  }
  // Graceful: stop accepting and let in-flight requests (a `Prefer: wait`, a stream) finish.
  // A second signal ends it now.
  let stopping = false;
  const stop = () => {
    if (stopping) Deno.exit(0);
    stopping = true;
    void guard.close().then(() => Deno.exit(0));
    Deno.unrefTimer(setTimeout(() => Deno.exit(0), SHUTDOWN_MS));
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(signal, stop);
  if (args.stopWithStdin) {
    // The starter holds our stdin open; when it dies, however, stdin ends and so do we.
    void (async () => {
      for await (const _ of Deno.stdin.readable);
      if (!stopping) stop();
    })();
  }
  const target = targetOf(args);
  if ("path" in target) await clearStaleSocket(target.path, Deno.uid()!).catch(refuse);
  // The first listen may fail (the port is taken): that ends the listener.
  let address;
  try {
    address = await guard.listen(target, SOCKET_MODE);
  } catch (error) {
    const code = (error as { code?: string }).code ?? `${error}`;
    const where = "path" in target
      ? target.path
      : "fd" in target
      ? `descriptor ${target.fd}`
      : `${target.host}:${target.port}`;
    console.error(`rootfence: the listener cannot listen on ${where} (${code})`);
    Deno.exit(1);
  }
  log({
    kind: "listening",
    pid: Deno.pid,
    ...("path" in target ? { path: target.path } : {}),
    ...(typeof address === "object" && address !== null
      ? { host: address.address, port: address.port }
      : {}),
    ...(pair === undefined ? {} : { tls: pair.fingerprint, validTo: pair.validTo }),
  });
}

if (import.meta.main) await main();
