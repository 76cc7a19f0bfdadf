/**
 * The receiver process, started by `deno task start` (runtime/server/start.ts) under the flags
 * of `buildReceiverCommand` (receiver_flags.ts). Everything it needs arrives as arguments.
 *
 * @module
 */
import { findOp, OPS } from "../../ops/mod.ts";
import type { BinaryName } from "../../ops/types.ts";
import { parseArgs } from "../args.ts";
import { Launcher } from "../launcher.ts";
import { createApp } from "./app.ts";
import { Journal } from "./journal.ts";
import { loadKeys } from "./keys.ts";
import { Scheduler } from "./scheduler.ts";

const STRING = { type: "string" } as const;

function log(line: Record<string, unknown>): void {
  console.log(JSON.stringify(line));
}

async function main(args: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args,
    strict: true,
    options: {
      host: STRING,
      port: STRING,
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
      "deno-dir": STRING,
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
    denoDir: v["deno-dir"]!,
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
  const stop = new AbortController();
  const server = Deno.serve({
    hostname: v.host!,
    port: Number(v.port),
    signal: stop.signal,
    onListen: ({ hostname, port }) =>
      log({
        t: new Date().toISOString(),
        kind: "listening",
        pid: Deno.pid,
        host: hostname,
        port,
        keys: keyring.keys.map((k) => ({ id: k.id, ops: k.ops })),
        interrupted: recovered.interrupted.length,
        requeued: recovered.requeued,
      }),
  }, app.fetch);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ t: new Date().toISOString(), kind: "stopping", signal, ...scheduler.load });
    await scheduler.shutdown(Number(v["grace-ms"]));
    await launcher.close();
    closing.abort();
    stop.abort();
    await server.finished;
    journal.close();
    log({ t: new Date().toISOString(), kind: "stopped" });
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
}

if (import.meta.main) await main(Deno.args);
