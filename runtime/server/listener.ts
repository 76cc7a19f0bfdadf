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
import { readCapped } from "../capped_read.ts";
import { LineReader } from "../lines.ts";
import {
  BridgeReply,
  bridgeRequest,
  fromBase64,
  MAX_BODY_BYTES,
  MAX_LINE_BYTES,
} from "./bridge.ts";

/** The listener's arguments, as the starter encodes them. */
export const ListenerArgs = z.strictObject({
  host: z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/),
  port: z.coerce.number().int().min(0).max(65535),
  socket: z.string().regex(/^\/[^\0]{1,200}$/),
});
/** Decoded listener arguments. */
export type ListenerArgs = z.infer<typeof ListenerArgs>;

function problem(status: number, code: string, detail: string): Response {
  return new Response(
    JSON.stringify({ type: `urn:rootfence:problem:${code}`, title: code, status, code, detail }),
    { status, headers: { "content-type": "application/problem+json" } },
  );
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
  let body: Uint8Array = new Uint8Array();
  if (request.body !== null) {
    const read = await readCapped(request.body, MAX_BODY_BYTES);
    if (read.truncated) {
      return problem(413, "body_too_large", `The body is over ${MAX_BODY_BYTES} bytes`);
    }
    body = read.bytes;
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
  try {
    await writeAll(conn, new TextEncoder().encode(JSON.stringify(line) + "\n"));
    head = await nextReply(lines);
  } catch {
    close();
    return problem(502, "executor_failed", "The executor gave no valid answer");
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
    options: { host: { type: "string" }, port: { type: "string" }, socket: { type: "string" } },
    strict: true,
  });
  const args = ListenerArgs.parse(values);
  const stop = new AbortController();
  const server = Deno.serve({
    hostname: args.host,
    port: args.port,
    signal: stop.signal,
    onListen: ({ hostname, port }) =>
      console.log(JSON.stringify({
        t: new Date().toISOString(),
        kind: "listening",
        pid: Deno.pid,
        host: hostname,
        port,
      })),
  }, (request) => forward(request, args.socket));
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => stop.abort());
  }
  await server.finished;
}

if (import.meta.main) await main();
