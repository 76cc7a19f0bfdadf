/**
 * The shape's listener: node:http, as rootfence's listener, sending each request's path as one
 * line on a kept Unix connection to the executor and its reply line back as the body. With
 * `--work`, the line is the whole request as rootfence's listener forwards it (forwarded headers,
 * body in base64), for an executor that checks its signature.
 *
 * Usage: `deno run --allow-net=127.0.0.1:<port>,unix:<socket> --allow-read=<socket>
 * --allow-write=<socket> listener.ts <socket> <port> [--work]`
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createServer, type IncomingMessage } from "node:http";

const [socket, port, work] = Deno.args as [string, string, string?];
// Loaded only for the work: the shape without it carries no schema.
const forwarded = work === undefined
  ? undefined
  : (await import("../../runtime/server/bridge.ts")).forwardedHeaders;
const text = new TextDecoder();
const out = new TextEncoder();

interface Kept {
  readonly conn: Deno.UnixConn;
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  buffered: string;
}
const idle: Kept[] = [];

async function ask(line: string): Promise<string> {
  const kept = idle.pop() ?? await (async () => {
    const conn = await Deno.connect({ transport: "unix", path: socket });
    return { conn, reader: conn.readable.getReader(), buffered: "" };
  })();
  await kept.conn.write(out.encode(line + "\n"));
  for (let end = kept.buffered.indexOf("\n");; end = kept.buffered.indexOf("\n")) {
    if (end >= 0) {
      const reply = kept.buffered.slice(0, end);
      kept.buffered = kept.buffered.slice(end + 1);
      idle.push(kept);
      return reply;
    }
    const { value, done } = await kept.reader.read();
    if (done) throw new Error("the executor closed the connection");
    kept.buffered += text.decode(value, { stream: true });
  }
}

function lineOf(request: IncomingMessage, body: Uint8Array): string {
  if (forwarded === undefined) return request.url!.slice(1);
  return JSON.stringify({
    method: request.method,
    path: request.url,
    headers: forwarded(request.rawHeaders),
    body: body.toBase64(),
  });
}

createServer((request, response) => {
  const parts: Uint8Array[] = [];
  request.on("data", (chunk: Uint8Array) => parts.push(chunk));
  request.on("end", async () => {
    const reply = await ask(lineOf(request, Buffer.concat(parts)));
    // The work's refusals lead with their status.
    const status = reply.startsWith('{"status":') ? Number(reply.slice(10, 13)) : 200;
    response.writeHead(status, { "content-type": "application/json" });
    response.end(reply);
  });
}).listen(Number(port), "127.0.0.1");
