/**
 * The executor: owns the keys, the journal, the scheduler and the child pool, and is the only
 * rootfence process with a run grant. It has no IP network at all: it answers the listener's
 * {@linkcode BridgeRequest} lines on one Unix socket, rebuilds each as a `Request` and runs it
 * through the Hono app, which verifies the signature on the forwarded raw bytes itself. So a
 * compromised listener can only replay what a key already signed, and idempotency stops that.
 *
 * Started by `deno task start` (runtime/server/start.ts) under the flags of
 * `buildExecutorCommand` (receiver_flags.ts). Everything it needs arrives as arguments.
 *
 * @module
 */
import { findOp, OPS } from "../../ops/mod.ts";
import type { BinaryName } from "../../ops/types.ts";
import { parseArgs } from "../args.ts";
import { Launcher } from "../launcher.ts";
import { LineReader } from "../lines.ts";
import { createApp } from "./app.ts";
import { BridgeRequest, CHUNK_BYTES, fromBase64, MAX_LINE_BYTES, toBase64 } from "./bridge.ts";
import { Journal } from "./journal.ts";
import { loadKeys } from "./keys.ts";
import { Scheduler } from "./scheduler.ts";

const STRING = { type: "string" } as const;

function log(line: Record<string, unknown>): void {
  console.log(JSON.stringify(line));
}

type Fetch = (request: Request) => Response | Promise<Response>;

async function writeLine(conn: Deno.Conn, value: unknown): Promise<void> {
  const bytes = new TextEncoder().encode(JSON.stringify(value) + "\n");
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** Serves one listener connection: one request line in, head, chunks and end out. */
export async function serveBridge(conn: Deno.Conn, fetch: Fetch): Promise<void> {
  const gone = new AbortController();
  try {
    const lines = new LineReader(conn.readable, MAX_LINE_BYTES);
    const first = await lines.next();
    if (first === undefined || "tooLong" in first) return;
    let request: BridgeRequest;
    try {
      request = BridgeRequest.parse(JSON.parse(first.line));
    } catch {
      return;
    }
    // The listener closes its end when the HTTP client goes away: end the stream with it.
    void lines.next().then(() => gone.abort(), () => gone.abort());
    const body = request.method === "GET" || request.method === "HEAD"
      ? null
      : fromBase64(request.body);
    const response = await fetch(
      new Request(`http://rootfence${request.path}`, {
        method: request.method,
        headers: request.headers,
        body,
        signal: gone.signal,
      }),
    );
    await writeLine(conn, { status: response.status, headers: [...response.headers] });
    if (response.body !== null) {
      const reader = response.body.getReader();
      gone.signal.addEventListener("abort", () => void reader.cancel().catch(() => {}));
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        for (let at = 0; at < next.value.length; at += CHUNK_BYTES) {
          await writeLine(conn, { chunk: toBase64(next.value.subarray(at, at + CHUNK_BYTES)) });
        }
      }
    }
    await writeLine(conn, { end: true });
  } catch {
    // The listener went away mid-answer; nothing to tell it.
  } finally {
    gone.abort();
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

async function main(args: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args,
    strict: true,
    options: {
      socket: STRING,
      "socket-group": STRING,
      "state-dir": STRING,
      "keys-file": STRING,
      "bin-path": STRING,
      "mount-base": STRING,
      runner: STRING,
      "sudo-path": STRING,
      "max-running": STRING,
      "max-queued": STRING,
      "grace-ms": STRING,
      "deno-path": STRING,
      "kill-path": STRING,
      "pool-size": STRING,
      "pool-uses": STRING,
      "pool-idle-ms": STRING,
      bin: { type: "string", multiple: true },
    },
  });
  const binaries: Partial<Record<BinaryName, string>> = {};
  for (const entry of v.bin ?? []) {
    const at = entry.indexOf("=");
    binaries[entry.slice(0, at) as BinaryName] = entry.slice(at + 1);
  }
  const keyring = await loadKeys(v["keys-file"]!);
  const journal = Journal.open(`${v["state-dir"]}/journal.db`);
  const launcher = await Launcher.create({
    binPath: v["bin-path"]!,
    mountBase: v["mount-base"]!,
    runner: v.runner as "direct" | "sudo",
    sudoPath: v["sudo-path"]!,
    denoPath: v["deno-path"]!,
    killPath: v["kill-path"]!,
    binaries,
    pool: {
      size: Number(v["pool-size"] ?? 1),
      maxUses: Number(v["pool-uses"] ?? 100),
      idleMs: Number(v["pool-idle-ms"] ?? 300_000),
    },
  });
  launcher.warm(OPS);
  const scheduler = new Scheduler({
    journal,
    log,
    maxRunning: Number(v["max-running"]),
    maxQueued: Number(v["max-queued"]),
    run: (job, signal) => launcher.invoke(findOp(job.op)!, job.input, { signal }),
  });
  const recovered = scheduler.recover();
  const closing = new AbortController();
  const app = createApp({
    scheduler,
    journal,
    keyring,
    settings: launcher.settings,
    log,
    closing: closing.signal,
  });
  const socket = v.socket!;
  await Deno.remove(socket).catch(() => undefined);
  const listener = Deno.listen({ transport: "unix", path: socket });
  const group = v["socket-group"];
  if (group !== undefined) {
    // Only the listener's group may connect; everyone else is refused by the kernel.
    await Deno.chown(socket, null, Number(group));
    await Deno.chmod(socket, 0o660);
  } else await Deno.chmod(socket, 0o600);
  log({
    t: new Date().toISOString(),
    kind: "ready",
    pid: Deno.pid,
    socket,
    keys: keyring.keys.map((k) => ({ id: k.id, ops: k.ops })),
    interrupted: recovered.interrupted.length,
    requeued: recovered.requeued,
  });
  const connections = new Set<Promise<void>>();
  const serving = (async () => {
    for await (const conn of listener) {
      const done = serveBridge(conn, app.fetch).finally(() => connections.delete(done));
      connections.add(done);
    }
  })().catch(() => undefined);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ t: new Date().toISOString(), kind: "stopping", signal, ...scheduler.load });
    await scheduler.shutdown(Number(v["grace-ms"]));
    await launcher.close();
    closing.abort();
    listener.close();
    await serving;
    await Promise.race([Promise.all(connections), new Promise((r) => setTimeout(r, 1000))]);
    journal.close();
    await Deno.remove(socket).catch(() => undefined);
    log({ t: new Date().toISOString(), kind: "stopped" });
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
}

if (import.meta.main) await main(Deno.args);
