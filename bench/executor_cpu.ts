/**
 * `deno run -A bench/executor_cpu.ts [--requests=N] [--rounds=R] [--concurrency=C] [--run-ms=M]`:
 * the executor's side alone, in CPU per request. Each side serves signed `sensors` bridge lines
 * that arrive over real Unix connections from a client in the same process: `C` connections
 * (default 1), each sending its next line once the last is answered, as the listener's do. A
 * run waits `M` ms (default 0) as a host command would, so with `C` over the running limit (4)
 * requests queue, as they do at 32 connections:
 *
 * - **rootfence**: `serveBridge` and the real app, journal and scheduler. Every run answers
 *   the result of one real `sensors` invocation (through a fenced child), captured at start.
 * - **shape+work**: the shape with the work's executor (`shape/work.ts`), with the reply its
 *   child gave for one real `sensors` run.
 *
 * So no child, binary or listener is counted: what is left is the part of a request that
 * rootfence's own layers (Hono, the scheduler, the job's view, the log) add over the work no
 * receiver can skip. The sides run in turn, each in a fresh process, `--rounds` times. CPU is the
 * process's (all threads, the checkpoint thread too, and the client's reads and writes, which
 * are the same for both sides), from the first request after a warm-up to the last.
 *
 * Each side also reports the JS heap it allocated per request (V8's own count): unlike CPU, it
 * hardly moves with this shared machine's load, so a change to the layers shows in it at once.
 *
 * @module
 */
import process from "node:process";
import v8 from "node:v8";
import { parseArgs } from "node:util";
import { findOp } from "../ops/mod.ts";
import { LineReader } from "../runtime/process/lines.ts";
import { signedRequest } from "../runtime/cli/client.ts";
import { newSecret } from "../runtime/signing.ts";

const WARM_UP = 200;
/** rootfence's default running limit, and the shape's children per workload. */
const RUNNING = 4;

/** A host run's stand-in: `ms` of waiting (none: one turn of the microtask queue). */
function hostRun(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** How a side's process prints its figures, each on a line of its own. */
const FIGURES = {
  cpuMs: "executor CPU ms per request: ",
  allocatedKiB: "executor KiB allocated per request: ",
} as const;

/** What one side measured. */
export interface Figures {
  /** CPU of the whole process, in ms per request. */
  readonly cpuMs: number;
  /** JS heap allocated, in KiB per request. */
  readonly allocatedKiB: number;
}

/** The figures a side's process printed; NaN for one it did not print. */
export function figuresOf(stdout: string): Figures {
  const lines = stdout.split("\n");
  const read = (prefix: string) => {
    const line = lines.findLast((l) => l.startsWith(prefix));
    return line === undefined ? NaN : Number(line.slice(prefix.length));
  };
  return { cpuMs: read(FIGURES.cpuMs), allocatedKiB: read(FIGURES.allocatedKiB) };
}

/** One side: answers request lines on a Unix socket; `ok` tells an answer that succeeded. */
interface Side {
  readonly socket: string;
  readonly path: string;
  ok(line: string): boolean;
}

async function rootfenceSide(dir: string, secret: string, runMs: number): Promise<Side> {
  const { Launcher } = await import("../runtime/process/launcher.ts");
  const { serveBridge } = await import("../runtime/server/executor.ts");
  const { benchApp } = await import("./breakdown.ts");
  const launcher = await Launcher.create({ binPath: "/usr/sbin:/usr/bin:/sbin:/bin", pool: {} });
  const ran = await launcher.invoke(findOp("sensors")!, {});
  await launcher.close();
  // As the executor's log: a JSON line each, written out in batches (here, dropped).
  let lines: string[] = [];
  const log = (line: Record<string, unknown>) => {
    lines.push(JSON.stringify(line));
    if (lines.length > 256) lines = [];
  };
  const { app, journal } = await benchApp(dir, secret, launcher.settings, async (job) => {
    journal.markProcess(job.id, 1, Date.now() + 60_000, 0);
    await hostRun(runMs);
    return structuredClone(ran);
  }, log);
  const socket = `${dir}/rootfence.sock`;
  const server = Deno.listen({ transport: "unix", path: socket });
  void (async () => {
    for await (const conn of server) void serveBridge(conn, app.fetch);
  })();
  return { socket, path: "/hooks/sensors", ok: (line) => line.startsWith('{"status":200') };
}

async function shapeSide(dir: string, secret: string, runMs: number): Promise<Side> {
  const { worker } = await import("./shape/work.ts");
  const op = findOp("sensors")!;
  const run = await new Deno.Command("/usr/bin/sensors", {
    args: ["-j"],
    clearEnv: true,
    env: { LC_ALL: "C" },
  }).output();
  const text = new TextDecoder();
  const reply = JSON.stringify(op.parse({
    stdout: text.decode(run.stdout),
    stderr: text.decode(run.stderr),
    exitCode: run.code,
    signal: run.signal,
    stdoutTruncated: false,
    stderrTruncated: false,
  }, {}));
  // As the shape's pool: four children, a run waits for a free one.
  let free = RUNNING;
  const waiting: (() => void)[] = [];
  const serve = await worker(dir, secret, async () => {
    if (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    else free--;
    try {
      await hostRun(runMs);
    } finally {
      const next = waiting.shift();
      if (next === undefined) free++;
      else next();
    }
    return reply;
  });
  const socket = `${dir}/shape.sock`;
  const server = Deno.listen({ transport: "unix", path: socket });
  const out = new TextEncoder();
  void (async () => {
    for await (const conn of server) {
      void (async () => {
        const lines = new LineReader(conn.readable, 1 << 20);
        for (let next = await lines.next(); next && "line" in next; next = await lines.next()) {
          await conn.write(out.encode(await serve(next.line) + "\n"));
        }
      })();
    }
  })();
  return { socket, path: "/sensors", ok: (line) => line.startsWith('{"jobId"') };
}

/** V8's count of the JS heap bytes this process allocated so far (Deno's Node types lack it). */
function allocatedBytes(): number {
  const statistics = v8.getHeapStatistics() as { total_allocated_bytes?: number };
  return statistics.total_allocated_bytes ?? NaN;
}

/** Serves `requests` lines through one side; resolves with its figures. */
async function measure(
  which: "rootfence" | "shape+work",
  requests: number,
  concurrency: number,
  runMs: number,
): Promise<Figures> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-executor-cpu-" });
  try {
    const secret = newSecret();
    const side = which === "rootfence"
      ? await rootfenceSide(dir, secret, runMs)
      : await shapeSide(dir, secret, runMs);
    const encoder = new TextEncoder();
    const sent: Uint8Array[] = [];
    for (let i = 0; i < WARM_UP + requests; i++) {
      const signed = await signedRequest(`http://rootfence${side.path}`, {
        secret,
        body: "{}",
        headers: { prefer: "wait=60", "cache-control": "no-cache" },
      });
      const body = new Uint8Array(await signed.arrayBuffer());
      // As the listener forwards them: named headers only, never a length.
      const headers = [...signed.headers].filter(([name]) => name !== "content-length");
      const line = { method: "POST", path: side.path, headers, body: body.toBase64() };
      sent.push(encoder.encode(JSON.stringify(line) + "\n"));
    }
    // One connection per request in flight, as the listener's: each sends its next line once
    // the last is answered.
    const connections = await Promise.all(
      Array.from({ length: concurrency }, async () => {
        const conn = await Deno.connect({ transport: "unix", path: side.socket });
        return { conn, answers: new LineReader(conn.readable, 1 << 20) };
      }),
    );
    const all = async (lines: Uint8Array[]) => {
      let next = 0;
      await Promise.all(connections.map(async ({ conn, answers }) => {
        while (next < lines.length) {
          await conn.write(lines[next++]!);
          const answer = await answers.next();
          if (answer === undefined || !("line" in answer) || !side.ok(answer.line)) {
            throw new Error(`${which} did not answer: ${JSON.stringify(answer).slice(0, 300)}`);
          }
        }
      }));
    };
    await all(sent.slice(0, WARM_UP));
    const before = process.cpuUsage();
    const allocated = allocatedBytes();
    await all(sent.slice(WARM_UP));
    const used = process.cpuUsage(before);
    return {
      cpuMs: (used.user + used.system) / 1000 / requests,
      allocatedKiB: (allocatedBytes() - allocated) / 1024 / requests,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The median of some figures. */
function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      requests: { type: "string" },
      rounds: { type: "string" },
      side: { type: "string" },
      concurrency: { type: "string" },
      "run-ms": { type: "string" },
    },
  });
  const requests = Number(values.requests ?? 3000);
  const concurrency = Number(values.concurrency ?? 1);
  const runMs = Number(values["run-ms"] ?? 0);
  if (!Number.isInteger(concurrency) || concurrency < 1 || !(runMs >= 0)) {
    throw new RangeError("--concurrency takes a whole number from 1, --run-ms a number from 0");
  }
  if (values.side === "rootfence" || values.side === "shape+work") {
    // One side in this process: the figures go to stdout for the parent, each on a line of its
    // own (the shape's worker logs there too).
    const figures = await measure(values.side, requests, concurrency, runMs);
    console.log(`${FIGURES.cpuMs}${figures.cpuMs.toFixed(3)}`);
    console.log(`${FIGURES.allocatedKiB}${figures.allocatedKiB.toFixed(1)}`);
    Deno.exit(0);
  }
  const rounds = Number(values.rounds ?? 3);
  const measured: Record<string, Figures[]> = { "rootfence": [], "shape+work": [] };
  for (let round = 0; round < rounds; round++) {
    for (const side of Object.keys(measured)) {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          import.meta.filename!,
          `--side=${side}`,
          `--requests=${requests}`,
          `--concurrency=${concurrency}`,
          `--run-ms=${runMs}`,
        ],
        stderr: "inherit",
      }).output();
      if (!output.success) throw new Error(`the ${side} side failed`);
      measured[side]!.push(figuresOf(new TextDecoder().decode(output.stdout)));
    }
  }
  for (const [side, figures] of Object.entries(measured)) {
    const cpu = figures.map((f) => f.cpuMs);
    const allocated = figures.map((f) => f.allocatedKiB);
    console.log(
      `${side.padEnd(10)} CPU ms per request: ${cpu.join(", ")} (median ${median(cpu)}); ` +
        `KiB allocated per request: ${allocated.join(", ")} (median ${median(allocated)})`,
    );
  }
}

if (import.meta.main) await main();
