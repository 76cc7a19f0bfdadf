/**
 * Where rootfence's time goes, measured in the same run: a bare spawn of the host binary from
 * Deno, a pooled fenced invocation of the same op, and one synchronous journal commit.
 *
 * @module
 */
import { findOp } from "../ops/mod.ts";
import { Launcher } from "../runtime/process/launcher.ts";
import { Journal } from "../runtime/server/journal.ts";
import { percentile } from "./stats.ts";

/** Milliseconds, p50 unless said otherwise. */
export interface Breakdown {
  readonly bareSpawnMs: number;
  readonly fencedInvokeMs: number;
  readonly fenceOverheadMs: number;
  readonly journalCommitMs: number;
}

/** Measures the three components with `n` samples each. */
export async function breakdown(binPath: string, n: number): Promise<Breakdown> {
  const sensors = findOp("sensors")!;
  const launcher = await Launcher.create({ binPath, pool: { size: 1 } });
  launcher.warm([sensors]);
  const bare: number[] = [];
  const fenced: number[] = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await new Deno.Command(launcher.binaries.sensors!, {
      args: ["-j"],
      clearEnv: true,
      env: { LC_ALL: "C" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    bare.push(performance.now() - t);
    t = performance.now();
    const run = await launcher.invoke(sensors, {});
    if (!run.ok) throw new Error(`fenced sensors failed: ${JSON.stringify(run.error)}`);
    fenced.push(performance.now() - t);
  }
  await launcher.close();
  const dir = await Deno.makeTempDir({ prefix: "rootfence-bench-journal-" });
  const journal = Journal.open(`${dir}/journal.db`);
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    journal.accept({
      keyId: "bench",
      deliveryId: `d${i}`,
      bodyHash: "x",
      op: "sensors",
      input: {},
      resourceKeys: [],
    }, Date.now());
  }
  const journalCommitMs = (performance.now() - t) / n;
  journal.close();
  await Deno.remove(dir, { recursive: true });
  const bareSpawnMs = percentile(bare, 50);
  const fencedInvokeMs = percentile(fenced, 50);
  return {
    bareSpawnMs: +bareSpawnMs.toFixed(2),
    fencedInvokeMs: +fencedInvokeMs.toFixed(2),
    fenceOverheadMs: +(fencedInvokeMs - bareSpawnMs).toFixed(2),
    journalCommitMs: +journalCommitMs.toFixed(3),
  };
}
