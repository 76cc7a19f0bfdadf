/**
 * What this machine and Deno cost before rootfence does anything, measured in the bench's run:
 * the memory of one idle Deno process (the floor under every process the design needs), a Unix
 * socket connect against a reused connection (what persistent listener-executor connections
 * would save), and the journal's per-job write time at p99 with SQLite's own checkpoint against
 * the executor's background one.
 *
 * @module
 */
import { findOp } from "../ops/mod.ts";
import { Journal } from "../runtime/server/journal.ts";
import { journalReadJob, sample } from "./breakdown.ts";
import { percentile } from "./stats.ts";

/** The measured floors. */
export interface Floors {
  /** One idle `deno eval` process, after a second. */
  readonly denoRssMiB: number;
  readonly denoPssMiB: number;
  /** p50 of connect, one line each way and close; and of the same line on an open connection. */
  readonly connectMs: number;
  readonly reusedMs: number;
  /** Every journal write of one read-only job, p99, 2 ms apart, by checkpoint mode. */
  readonly journalP99InlineMs: number;
  readonly journalP99BackgroundMs: number;
}

function kib(text: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
}

async function idleDeno(): Promise<{ rss: number; pss: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "await new Promise((resolve) => setTimeout(resolve, 5000))"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const rss = kib(await Deno.readTextFile(`/proc/${child.pid}/status`), "VmRSS");
  const pss = kib(await Deno.readTextFile(`/proc/${child.pid}/smaps_rollup`), "Pss");
  child.kill("SIGKILL");
  await child.status;
  return { rss: rss / 1024, pss: pss / 1024 };
}

async function socketRoundTrips(dir: string, n: number): Promise<[number, number]> {
  const path = `${dir}/echo.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  void (async () => {
    for await (const conn of listener) {
      void (async () => {
        const buffer = new Uint8Array(4096);
        for (let read = await conn.read(buffer); read !== null; read = await conn.read(buffer)) {
          await conn.write(buffer.subarray(0, read));
        }
        conn.close();
      })().catch(() => undefined);
    }
  })().catch(() => undefined);
  const line = new TextEncoder().encode(`${"x".repeat(400)}\n`);
  const buffer = new Uint8Array(4096);
  const fresh = await sample(n, async () => {
    const conn = await Deno.connect({ transport: "unix", path });
    await conn.write(line);
    await conn.read(buffer);
    conn.close();
  });
  const kept = await Deno.connect({ transport: "unix", path });
  const reused = await sample(n, async () => {
    await kept.write(line);
    await kept.read(buffer);
  });
  kept.close();
  listener.close();
  return [fresh, reused];
}

async function journalP99(dir: string, checkpoints: "inline" | "background", n: number) {
  const journal = Journal.open(`${dir}/${checkpoints}.db`, {
    synced: (op) => findOp(op)?.mutates ?? true,
    checkpoints,
  });
  // A sensors result's size, so each job writes as many WAL pages as in the receiver.
  const result = { ok: true, result: { readings: "x".repeat(1500) } };
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    journalReadJob(journal, i, result);
    times.push(performance.now() - started);
    // Requests arrive apart, as at one connection; the background thread works in between.
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  journal.close();
  return percentile(times, 99);
}

/** Measures the floors. */
export async function floors(n: number): Promise<Floors> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-bench-floors-" });
  try {
    const deno = await idleDeno();
    const [connectMs, reusedMs] = await socketRoundTrips(dir, n);
    const round = (value: number, digits = 3) => +value.toFixed(digits);
    return {
      denoRssMiB: round(deno.rss, 1),
      denoPssMiB: round(deno.pss, 1),
      connectMs: round(connectMs),
      reusedMs: round(reusedMs),
      journalP99InlineMs: round(await journalP99(dir, "inline", 1500)),
      journalP99BackgroundMs: round(await journalP99(dir, "background", 1500)),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
