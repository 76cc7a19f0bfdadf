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
import { LineReader } from "../process/lines.ts";
import {
  BridgeReply,
  BridgeRequest,
  bridgeRequest,
  fromBase64,
  MAX_BODY_BYTES,
  MAX_LINE_BYTES,
} from "./bridge.ts";
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

function problem(status: number, code: string, detail: string): Response {
  const title = (PROBLEMS as Record<string, readonly [number, string]>)[code]?.[1] ?? code;
  return new Response(
    JSON.stringify({ type: `urn:rootfence:problem:${code}`, title, status, code, detail }),
    { status, headers: { "content-type": "application/problem+json" } },
  );
}

/**
 * Reads a request body, or `undefined` as soon as it is over `max` bytes: a declared length
 * over the cap is refused unread, and an endless body is cancelled, not drained.
 */
async function readBody(request: Request, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (!(declared <= max)) return undefined;
  if (request.body === null) return new Uint8Array();
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    size += next.value.length;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    // Copy: the reader may reuse the chunk's buffer.
    parts.push(next.value.slice());
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    body.set(part, at);
    at += part.length;
  }
  return body;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

async function nextReply(lines: LineReader): Promise<BridgeReply> {
  const next = await lines.next();
  if (next === undefined) throw new Error("the executor closed the connection");
  if ("tooLong" in next) throw new Error("the executor sent an oversized line");
  return BridgeReply.parse(JSON.parse(next.line));
}

/**
 * Forwards one HTTP request to the executor and returns its answer; the body streams.
 * Needs net (unix) and read/write of the socket path.
 */
export async function forward(request: Request, socket: string): Promise<Response> {
  if (!BridgeRequest.shape.method.safeParse(request.method).success) {
    return problem(405, "method_not_allowed", `The receiver does not serve ${request.method}`);
  }
  const body = await readBody(request, MAX_BODY_BYTES);
  if (body === undefined) {
    return problem(413, "body_too_large", `The body is over ${MAX_BODY_BYTES} bytes`);
  }
  const url = new URL(request.url);
  return await relay(
    { method: request.method, path: url.pathname + url.search, headers: request.headers, body },
    socket,
    request.signal,
  );
}

/** A request whose body is in: what {@linkcode relay} forwards. */
interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

async function relay(request: Received, socket: string, signal: AbortSignal): Promise<Response> {
  let line;
  try {
    line = bridgeRequest(request.method, request.path, request.headers, request.body);
  } catch {
    return problem(400, "bad_request", "The method, path or a header cannot be forwarded");
  }
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socket });
  } catch {
    return problem(503, "executor_unavailable", "The executor is not reachable");
  }
  const close = () => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  signal.addEventListener("abort", close, { once: true });
  const lines = new LineReader(conn.readable, MAX_LINE_BYTES);
  let head;
  const late = setTimeout(close, HEAD_TIMEOUT_MS);
  try {
    await writeAll(conn, new TextEncoder().encode(JSON.stringify(line) + "\n"));
    head = await nextReply(lines);
  } catch {
    close();
    return problem(502, "executor_failed", "The executor gave no valid answer");
  } finally {
    clearTimeout(late);
  }
  if (!("status" in head)) {
    close();
    return problem(502, "executor_failed", "The executor gave no valid answer");
  }
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const reply = await nextReply(lines);
        if ("chunk" in reply) controller.enqueue(fromBase64(reply.chunk));
        else {
          controller.close();
          close();
        }
      } catch (error) {
        controller.error(error);
        close();
      }
    },
    cancel: close,
  });
  const nullBody = request.method === "HEAD" || [204, 304].includes(head.status);
  if (nullBody) void stream.cancel();
  return new Response(nullBody ? null : stream, { status: head.status, headers: head.headers });
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

/** Writes an answer to a `node:http` response, honouring backpressure. */
async function send(answer: Response, response: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [name, value] of answer.headers) headers[name] = value;
  response.writeHead(answer.status, headers);
  if (answer.body !== null) {
    const reader = answer.body.getReader();
    response.on("close", () => void reader.cancel().catch(() => undefined));
    try {
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        if (!response.write(next.value)) {
          await new Promise((resolve) => {
            response.once("drain", resolve);
            response.once("close", resolve);
          });
        }
      }
    } catch {
      // The executor or the client went away: end what was sent.
    }
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
  response.on("close", () => gone.abort());
  const method = request.method ?? "";
  if (!BridgeRequest.shape.method.safeParse(method).success) {
    return void await send(
      problem(405, "method_not_allowed", `The receiver does not serve ${method}`),
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
      response,
    );
  }
  guard.answering(request.socket);
  const headers = new Headers();
  try {
    for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
      headers.append(request.rawHeaders[i]!, request.rawHeaders[i + 1]!);
    }
  } catch {
    return void await send(problem(400, "bad_request", "A header cannot be read"), response);
  }
  const path = request.url ?? "/";
  await send(await relay({ method, path, headers, body }, socket, gone.signal), response);
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
