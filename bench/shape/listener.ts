/**
 * The shape's listener: node:http, as rootfence's listener, sending each request's path as one
 * line on a kept Unix connection to the executor and its reply line back as the body.
 *
 * Usage: `deno run --allow-net=127.0.0.1:<port>,unix:<socket> --allow-read=<socket>
 * --allow-write=<socket> listener.ts <socket> <port>`
 *
 * @module
 */
import { createServer } from "node:http";

const [socket, port] = Deno.args as [string, string];
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

createServer((request, response) => {
  request.resume();
  request.on("end", async () => {
    const reply = await ask(request.url!.slice(1));
    response.writeHead(200, { "content-type": "application/json" });
    response.end(reply);
  });
}).listen(Number(port), "127.0.0.1");
