/**
 * Kept listener-executor connections: the listener reuses one connection for requests in turn,
 * retries a kept one the executor ended unanswered, and never reuses one whose answer was
 * cancelled or that carried a byte too many; the executor serves requests in turn on one
 * connection and closes one that sends a request before the last answer ended.
 */
import assert from "node:assert/strict";
import { MAX_LINE_BYTES, toBase64 } from "../runtime/server/bridge.ts";
import { connectionsTo, IDLE_MS } from "../runtime/server/bridge_connections.ts";
import type { AppBindings } from "../runtime/server/context.ts";
import { serveBridge } from "../runtime/server/executor.ts";
import { relay } from "../runtime/server/listener.ts";
import { LineReader } from "../runtime/process/lines.ts";
import { until } from "./_watch.ts";

const encoder = new TextEncoder();

function reply(body: string, extra = ""): Uint8Array {
  const lines = [
    JSON.stringify({ status: 200, headers: [["content-type", "text/plain"]] }),
    JSON.stringify({ chunk: toBase64(encoder.encode(body)) }),
    JSON.stringify({ end: true }),
  ];
  return encoder.encode(lines.join("\n") + "\n" + extra);
}

/** A whole answer in one line, as the executor sends any answer up to 48 KiB. */
function oneLine(body: string, extra = ""): Uint8Array {
  const headers = [["content-type", "text/plain"]];
  const line = JSON.stringify({ status: 200, headers, body: toBase64(encoder.encode(body)) });
  return encoder.encode(line + "\n" + extra);
}

/**
 * A fake executor: `serve` gets each connection's number and each request line's number on it,
 * and says what to write (or `undefined` to close the connection unanswered).
 */
async function fakeExecutor(
  serve: (conn: number, line: number, path: string) => Uint8Array | undefined,
): Promise<{
  socket: string;
  accepted: () => number;
  open: () => number;
  requests: string[];
  stop(): Promise<void>;
}> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-bridge-conns-" });
  const socket = `${dir}/executor.sock`;
  const listener = Deno.listen({ transport: "unix", path: socket });
  let accepted = 0;
  const requests: string[] = [];
  const open = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const conn of listener) {
      const number = ++accepted;
      open.add(conn);
      void (async () => {
        const lines = new LineReader(conn.readable, 1 << 20);
        for (let n = 1;; n++) {
          const line = await lines.next();
          if (line === undefined || "tooLong" in line) break;
          const path = JSON.parse(line.line).path as string;
          requests.push(path);
          const bytes = serve(number, n, path);
          if (bytes === undefined) break;
          await conn.write(bytes);
        }
        open.delete(conn);
        conn.close();
      })().catch(() => undefined);
    }
  })().catch(() => undefined);
  return {
    socket,
    accepted: () => accepted,
    open: () => open.size,
    requests,
    async stop() {
      connectionsTo(socket).close();
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // closed
        }
      }
      await serving;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const get = (path: string) => new Request(`http://x${path}`);

/** A GET through the listener's relay, its answer as a `Response` that streams. */
async function forward(request: Request, socket: string): Promise<Response> {
  const url = new URL(request.url);
  const received = { method: "GET", path: url.pathname, headers: [], body: new Uint8Array() };
  const answer = await relay(received, socket, request.signal);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await answer.next();
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      } catch (error) {
        controller.error(error);
      }
    },
    cancel: () => answer.cancel(),
  });
  const headers = answer.headers.map(([name, value]): [string, string] => [name, value]);
  return new Response(body, { status: answer.status, headers });
}

Deno.test("the listener sends requests in turn over one kept connection", async () => {
  const executor = await fakeExecutor((_, __, path) => reply(`answer ${path}`));
  try {
    for (let i = 0; i < 10; i++) {
      const response = await forward(get(`/jobs/${i}`), executor.socket);
      assert.equal(await response.text(), `answer /jobs/${i}`);
    }
    assert.equal(executor.accepted(), 1);
  } finally {
    await executor.stop();
  }
});

Deno.test("an idle kept connection is closed after IDLE_MS, before the executor's own 5 s wait", async () => {
  const executor = await fakeExecutor((_, __, path) => reply(`answer ${path}`));
  try {
    assert.equal(await (await forward(get("/jobs/a"), executor.socket)).text(), "answer /jobs/a");
    const given = Date.now();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 2));
    assert.equal(connectionsTo(executor.socket).idle, 1, "kept while idle");
    assert.equal(executor.open(), 1);
    // Closed by the listener: the executor sees its end, before its own 5 s would run out.
    assert.ok(await until(() => executor.open() === 0, 4_500 - (Date.now() - given)));
    assert.ok(Date.now() - given >= IDLE_MS - 50, "not before IDLE_MS");
    assert.equal(connectionsTo(executor.socket).idle, 0);
    assert.equal(await (await forward(get("/jobs/b"), executor.socket)).text(), "answer /jobs/b");
    assert.equal(executor.accepted(), 2);
  } finally {
    await executor.stop();
  }
});

Deno.test("a kept connection the executor ends unanswered is retried once on a new one", async () => {
  // The second request on the first connection is read and dropped, as by a restart.
  const executor = await fakeExecutor((conn, line, path) =>
    conn === 1 && line === 2 ? undefined : reply(`answer ${path}`)
  );
  try {
    assert.equal(await (await forward(get("/jobs/a"), executor.socket)).text(), "answer /jobs/a");
    const second = await forward(get("/jobs/b"), executor.socket);
    assert.equal(second.status, 200);
    assert.equal(await second.text(), "answer /jobs/b");
    assert.equal(executor.accepted(), 2);
    assert.deepEqual(executor.requests, ["/jobs/a", "/jobs/b", "/jobs/b"]);
  } finally {
    await executor.stop();
  }
});

Deno.test("a new connection the executor ends unanswered is a 502, not a retry", async () => {
  const executor = await fakeExecutor(() => undefined);
  try {
    const response = await forward(get("/jobs/a"), executor.socket);
    assert.equal(response.status, 502);
    assert.equal((await response.json()).code, "executor_failed");
    assert.equal(executor.accepted(), 1);
  } finally {
    await executor.stop();
  }
});

Deno.test("a cancelled answer's connection and one with a byte too many are never reused", async () => {
  const extra = JSON.stringify({ status: 200, headers: [] }) + "\n";
  const executor = await fakeExecutor((conn, _, path) =>
    conn === 2 ? reply(`answer ${path}`, extra) : reply(`answer ${path}`)
  );
  try {
    // Cancelled before its end was read: the connection is closed, not kept.
    const cancelled = await forward(get("/jobs/a"), executor.socket);
    await cancelled.body!.cancel();
    // A stray line after the end: this answer is whole, the stray line reaches nobody.
    assert.equal(await (await forward(get("/jobs/b"), executor.socket)).text(), "answer /jobs/b");
    assert.equal(await (await forward(get("/jobs/c"), executor.socket)).text(), "answer /jobs/c");
    assert.equal(executor.accepted(), 3);
  } finally {
    await executor.stop();
  }
});

Deno.test("an answer in one line keeps its connection; one with a stray line after it is closed", async () => {
  const stray = new TextDecoder().decode(oneLine("for nobody"));
  const executor = await fakeExecutor((conn, line, path) =>
    oneLine(`answer ${path}`, conn === 1 && line === 3 ? stray : "")
  );
  try {
    for (const path of ["/jobs/a", "/jobs/b", "/jobs/c", "/jobs/d", "/jobs/e"]) {
      const response = await forward(get(path), executor.socket);
      assert.equal(await response.text(), `answer ${path}`);
    }
    // Three answers on the first connection; the stray line closed it, so a second served the
    // rest, and nobody was answered with the stray body.
    assert.equal(executor.accepted(), 2);
    assert.deepEqual(executor.requests, ["/jobs/a", "/jobs/b", "/jobs/c", "/jobs/d", "/jobs/e"]);
  } finally {
    await executor.stop();
  }
});

/** The executor's side, on a real socket with a stand-in app. */
async function executorSide(
  fetch: (request: Request, env: AppBindings) => Promise<Response>,
  talk: (conn: Deno.Conn, lines: LineReader) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-bridge-serve-" });
  const listener = Deno.listen({ transport: "unix", path: `${dir}/s.sock` });
  try {
    const accepted = listener.accept().then((conn) => serveBridge(conn, fetch));
    const conn = await Deno.connect({ transport: "unix", path: `${dir}/s.sock` });
    await talk(conn, new LineReader(conn.readable, 1 << 20));
    await accepted;
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const line = (path: string) =>
  encoder.encode(JSON.stringify({ method: "GET", path, headers: [], body: "" }) + "\n");

async function answerOf(lines: LineReader): Promise<string[]> {
  const got: string[] = [];
  for (let next = await lines.next(); next !== undefined; next = await lines.next()) {
    if ("tooLong" in next) throw new Error("too long");
    got.push(next.line);
    if (next.line === '{"end":true}' || "body" in JSON.parse(next.line)) return got;
  }
  return got;
}

Deno.test("the executor answers requests in turn on one connection", async () => {
  await executorSide(
    (request) => Promise.resolve(new Response(new URL(request.url).pathname)),
    async (conn, lines) => {
      for (const path of ["/one", "/two", "/three"]) {
        await conn.write(line(path));
        const answer = await answerOf(lines);
        // A whole answer is one line: head and body.
        assert.equal(answer.length, 1, path);
        assert.equal(atob(JSON.parse(answer[0]!).body), path);
      }
      conn.close();
    },
  );
});

Deno.test("the executor hands the app a request's body beside the Request, not inside it", async () => {
  const seen: { method: string; inside: boolean; body: string | undefined }[] = [];
  await executorSide(
    (request, env) => {
      seen.push({
        method: request.method,
        inside: request.body !== null,
        body: env.body === undefined ? undefined : new TextDecoder().decode(env.body),
      });
      return Promise.resolve(new Response("ok"));
    },
    async (conn, lines) => {
      const body = toBase64(encoder.encode('{"device":"/dev/sda"}'));
      for (const method of ["POST", "GET"]) {
        await conn.write(
          encoder.encode(JSON.stringify({ method, path: "/x", headers: [], body }) + "\n"),
        );
        await answerOf(lines);
      }
      conn.close();
    },
  );
  // A GET's body is never handed on, whatever its line carried.
  assert.deepEqual(seen, [
    { method: "POST", inside: false, body: '{"device":"/dev/sda"}' },
    { method: "GET", inside: false, body: undefined },
  ]);
});

Deno.test("the executor sends an answer whose one line would pass the listener's cap as head, chunks and end", async () => {
  // 150 KiB of headers and a 40 KiB body: each fits a line, both together (in base64) do not.
  const headers = Array.from({ length: 20 }, (_, i) => [`x-h${i}`, "v".repeat(7500)]);
  const body = "b".repeat(40 * 1024);
  await executorSide(
    (request) =>
      Promise.resolve(
        new URL(request.url).pathname === "/small"
          ? new Response("small")
          : new Response(body, { headers: headers as [string, string][] }),
      ),
    async (conn, lines) => {
      await conn.write(line("/big-head"));
      const answer = await answerOf(lines);
      assert.equal(answer.length, 3);
      for (const sent of answer) assert.ok(sent.length < MAX_LINE_BYTES, `${sent.length}`);
      assert.equal(atob(JSON.parse(answer[1]!).chunk), body);
      await conn.write(line("/small"));
      assert.equal((await answerOf(lines)).length, 1);
      conn.close();
    },
  );
});

Deno.test("the executor closes a connection that sends a request before the answer's end", async () => {
  let aborted = false;
  await executorSide(
    (request) =>
      new Promise((resolve) => {
        request.signal.addEventListener("abort", () => {
          aborted = true;
          resolve(new Response("late"));
        });
      }),
    async (conn, lines) => {
      await conn.write(line("/slow"));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await conn.write(line("/pipelined"));
      // Answered or not, the connection ends: the pipelined request is never served.
      const rest = await answerOf(lines);
      assert.ok(rest.every((l) => !l.includes(btoa("/pipelined"))), rest.join("\n"));
      // The end of the stream: the executor closed it (and so did Deno's reader).
      assert.equal(await lines.next(), undefined);
    },
  );
  assert.equal(aborted, true);
});
