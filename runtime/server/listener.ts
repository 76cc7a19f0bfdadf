/**
 * The listener: the only rootfence process that parses HTTP. It holds no keys, no journal and
 * no run grant: it reads each request (body capped), forwards it over the executor's Unix
 * socket as one {@linkcode BridgeRequest} line and streams the executor's answer back. A bug
 * here can only send the executor requests, which the executor verifies itself.
 *
 * Runs as `dist/listener.js` (bundled, so it loads no Deno cache and a service user needs only
 * to read that one file), started by `deno task start` or its systemd unit as:
 * `deno run <sealed flags> --allow-net=<host>:<port> --allow-read=<socket> --allow-write=<socket>
 * dist/listener.js --host=<host> --port=<port> --socket=<socket>`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { LineReader } from "../lines.ts";
import {
  BridgeReply,
  BridgeRequest,
  bridgeRequest,
  fromBase64,
  MAX_BODY_BYTES,
  MAX_LINE_BYTES,
} from "./bridge.ts";
import { PROBLEMS } from "./problems.ts";

/**
 * How long the executor may take to answer with a head: the longest `Prefer: wait` (60 s) and
 * a margin. A stuck executor then costs a client a 502, not a connection held forever.
 */
const HEAD_TIMEOUT_MS = 75_000;

/** How long in-flight requests get to finish after SIGTERM or SIGINT. */
const SHUTDOWN_MS = 75_000;

/** The pause before serving again after Deno.serve failed. */
const RESERVE_MS = 1000;

/** The listener's arguments, as the starter encodes them. */
export const ListenerArgs = z.strictObject({
  host: z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/),
  port: z.coerce.number().int().min(0).max(65535),
  socket: z.string().regex(/^\/[^\0]{1,200}$/),
});
/** Decoded listener arguments. */
export type ListenerArgs = z.infer<typeof ListenerArgs>;

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
  const url = new URL(request.url);
  if (!BridgeRequest.shape.method.safeParse(request.method).success) {
    return problem(405, "method_not_allowed", `The receiver does not serve ${request.method}`);
  }
  const body = await readBody(request, MAX_BODY_BYTES);
  if (body === undefined) {
    return problem(413, "body_too_large", `The body is over ${MAX_BODY_BYTES} bytes`);
  }
  let line;
  try {
    line = bridgeRequest(request.method, url.pathname + url.search, request.headers, body);
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
  request.signal.addEventListener("abort", close, { once: true });
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      socket: { type: "string" },
      "stop-with-stdin": { type: "boolean" },
    },
    strict: true,
  });
  const { "stop-with-stdin": stopWithStdin, ...rest } = values;
  const args = ListenerArgs.parse(rest);
  const log = (line: Record<string, unknown>) =>
    console.log(JSON.stringify({ t: new Date().toISOString(), ...line }));
  // Graceful: stop accepting and let in-flight requests (a `Prefer: wait`, a stream) finish;
  // aborting Deno.serve's `signal` would drop them unanswered. A second signal ends it now.
  let server: Deno.HttpServer | undefined;
  let stopping = false;
  const stop = () => {
    if (stopping) Deno.exit(0);
    stopping = true;
    void server?.shutdown();
    Deno.unrefTimer(setTimeout(() => Deno.exit(0), SHUTDOWN_MS));
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(signal, stop);
  if (stopWithStdin) {
    // The starter holds our stdin open; when it dies, however, stdin ends and so do we.
    void (async () => {
      for await (const _ of Deno.stdin.readable);
      if (!stopping) stop();
    })();
  }
  const serve = () =>
    Deno.serve({
      hostname: args.host,
      port: args.port,
      onListen: ({ hostname, port }) =>
        log({ kind: "listening", pid: Deno.pid, host: hostname, port }),
    }, (request) => forward(request, args.socket));
  // The first listen may fail (the port is taken): that ends the listener. Later, Deno.serve
  // ends for good when accepting fails (EMFILE: a burst of idle connections); serve again
  // then instead of exiting, which would take the executor down with it.
  server = serve();
  while (!stopping) {
    try {
      await server.finished;
      return;
    } catch (error) {
      if (stopping) return;
      log({ kind: "error", message: `The listener stopped serving: ${error}; serving again` });
    }
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, RESERVE_MS));
      if (stopping) return;
      try {
        server = serve();
        break;
      } catch (error) {
        log({ kind: "error", message: `The listener cannot serve again yet: ${error}` });
      }
    }
  }
}

if (import.meta.main) await main();
