/**
 * How the listener (`dist/listener.js`, node:http) relays what the executor answers, over real
 * HTTP, in front of a scripted executor on its Unix socket: a whole answer in one piece with its
 * true length, an event stream as it comes, and an answer the executor breaks off never passed
 * on as a whole one.
 */
import assert from "node:assert/strict";
import { type BridgeReply, toBase64 } from "../runtime/server/bridge.ts";
import { spawnListener } from "./_listener.ts";

/** What the scripted executor does once it has read a request line. */
type Script = (send: (...replies: BridgeReply[]) => Promise<void>) => Promise<void>;

const text = new TextEncoder();

function chunk(body: string): BridgeReply {
  return { chunk: toBase64(text.encode(body)) };
}

async function readRequestLine(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(256 * 1024);
  let seen = "";
  while (!seen.includes("\n")) {
    const n = await conn.read(buffer);
    if (n === null) return;
    seen += new TextDecoder().decode(buffer.subarray(0, n));
  }
}

async function withListener(script: Script, fn: (url: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-relay-" });
  const socket = `${dir}/executor.sock`;
  const server = Deno.listen({ transport: "unix", path: socket });
  const serving = (async () => {
    for await (const conn of server) {
      void (async () => {
        await readRequestLine(conn);
        const send = async (...replies: BridgeReply[]) => {
          const bytes = text.encode(replies.map((reply) => JSON.stringify(reply) + "\n").join(""));
          for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
        };
        await script(send).catch(() => undefined);
        try {
          conn.close();
        } catch {
          // closed by the listener
        }
      })();
    }
  })().catch(() => undefined);
  const listener = await spawnListener(socket);
  try {
    await fn(listener.url);
  } finally {
    await listener.stop();
    server.close();
    await serving;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("an answer in one line goes out with its head, its body and its true length", async () => {
  const body = JSON.stringify({ jobId: "j1", status: "succeeded" });
  await withListener(
    (send) =>
      send({
        status: 201,
        headers: [["content-type", "application/json"], ["content-length", "7"], ["x-a", "1"]],
        body: toBase64(text.encode(body)),
      }),
    async (url) => {
      const response = await fetch(`${url}/healthz`);
      assert.equal(response.status, 201);
      assert.equal(response.headers.get("x-a"), "1");
      assert.equal(response.headers.get("content-length"), String(body.length));
      assert.equal(await response.text(), body);
    },
  );
});

Deno.test("a whole answer goes out in one piece with its true length, whatever the executor claims", async () => {
  const body = JSON.stringify({ jobId: "j1", status: "succeeded" });
  await withListener(
    (send) =>
      send(
        {
          status: 200,
          headers: [["content-type", "application/json"], ["content-length", "999"]],
        },
        chunk(body),
        { end: true },
      ),
    async (url) => {
      const response = await fetch(`${url}/healthz`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-length"), String(body.length));
      assert.equal(response.headers.get("transfer-encoding"), null);
      assert.equal(await response.text(), body);
    },
  );
});

Deno.test("an answer the executor breaks off after its head is cut, never ended as if whole", async () => {
  await withListener(
    async (send) => {
      await send({ status: 200, headers: [["content-type", "application/json"]] });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await send(chunk('{"part":'));
      // ...and the executor goes away without its end line.
    },
    async (url) => {
      // The connection is cut: the client fails on the head (its bytes not yet flushed) or on
      // the body, and never reads the part as a complete answer.
      const read = fetch(`${url}/jobs/j1`).then((response) => response.text());
      await assert.rejects(read, "a cut answer must fail, not read as complete");
    },
  );
});

Deno.test("an answer the executor breaks off before its head is a 502", async () => {
  await withListener(
    async () => {},
    async (url) => {
      const response = await fetch(`${url}/jobs/j1`);
      assert.equal(response.status, 502);
      assert.equal((await response.json()).code, "executor_failed");
    },
  );
});

Deno.test("an event stream is relayed as it comes, not when it ends", async () => {
  let secondSent = 0;
  await withListener(
    async (send) => {
      await send(
        { status: 200, headers: [["content-type", "text/event-stream"]] },
        chunk("id: 1\n\n"),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      secondSent = performance.now();
      await send(chunk("id: 2\n\n"), { end: true });
    },
    async (url) => {
      const response = await fetch(`${url}/jobs/j1/events`);
      const reader = response.body!.getReader();
      const first = await reader.read();
      const firstAt = performance.now();
      assert.equal(new TextDecoder().decode(first.value), "id: 1\n\n");
      let rest = "";
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        rest += new TextDecoder().decode(next.value);
      }
      assert.equal(rest, "id: 2\n\n");
      assert.ok(firstAt < secondSent, "the first event came before the second was sent");
    },
  );
});

Deno.test("a HEAD answer and a 204 go out with no body, whatever the executor sent after the head", async () => {
  let status = 200;
  await withListener(
    (send) =>
      send({ status, headers: [["content-type", "application/json"]] }, chunk("{}"), {
        end: true,
      }),
    async (url) => {
      const head = await fetch(`${url}/healthz`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), "");
      status = 204;
      const empty = await fetch(`${url}/healthz`);
      assert.equal(empty.status, 204);
      assert.equal(await empty.text(), "");
    },
  );
});

Deno.test("an answer larger than the listener holds back is streamed, and arrives whole", async () => {
  const part = "x".repeat(40 * 1024);
  await withListener(
    (send) =>
      send(
        { status: 200, headers: [["content-type", "application/json"]] },
        ...Array.from({ length: 8 }, () => chunk(part)),
        { end: true },
      ),
    async (url) => {
      const response = await fetch(`${url}/jobs`);
      const got = await response.text();
      assert.equal(response.status, 200, got.slice(0, 300));
      assert.equal(response.headers.get("content-length"), null);
      assert.equal(got.length, 8 * part.length);
    },
  );
});
