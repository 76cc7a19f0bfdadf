/**
 * Where rootfence's time goes, measured in the same run, one component at a time: a bare spawn
 * of the host binary from Deno, a pooled fenced invocation of the same op, the journal writes of
 * one read-only job, and the executor's whole app in-process (signature, validation, journal,
 * scheduler, pooled invocation, JSON) with no HTTP and no listener in front.
 *
 * @module
 */
import { findOp, OPS } from "../ops/mod.ts";
import type { OpSettings } from "../ops/types.ts";
import { signedRequest } from "../runtime/cli/client.ts";
import { Launcher } from "../runtime/process/launcher.ts";
import { createApp } from "../runtime/server/app.ts";
import { Journal } from "../runtime/server/journal.ts";
import { KeyringHolder } from "../runtime/server/keyring_holder.ts";
import { Scheduler, type SchedulerOptions } from "../runtime/server/scheduler.ts";
import { newSecret, verifyingSecret } from "../runtime/signing.ts";
import { percentile } from "./stats.ts";

/** Milliseconds, p50 unless said otherwise. */
export interface Breakdown {
  readonly bareSpawnMs: number;
  readonly fencedInvokeMs: number;
  readonly fenceOverheadMs: number;
  /** Every journal write of one read-only job whose client waits: held, written at its end. */
  readonly journalJobMs: number;
  /** The executor's app in-process: a signed trigger answered with the finished job. */
  readonly appMs: number;
  /** The app less the fenced invocation and the journal: HTTP routing, auth, scheduling. */
  readonly appOverheadMs: number;
}

/** The p50 of `n` timed runs of `task`, in ms. */
export async function sample(n: number, task: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await task();
    times.push(performance.now() - t);
  }
  return percentile(times, 50);
}

/** The executor's app as the bench builds it: real journal (as the executor opens it) and scheduler. */
export interface BenchApp {
  readonly app: ReturnType<typeof createApp>;
  readonly journal: Journal;
  readonly scheduler: Scheduler;
}

/**
 * The executor's app over a real journal and scheduler, with one key (`bench`, every op) whose
 * secret is `secret`; `run` runs a job, as the launcher would.
 */
export async function benchApp(
  dir: string,
  secret: string,
  settings: OpSettings,
  run: SchedulerOptions["run"],
  log: (line: Record<string, unknown>) => void = () => {},
): Promise<BenchApp> {
  const journal = Journal.open(`${dir}/app.db`, {
    synced: (op) => findOp(op)?.mutates ?? true,
    checkpoints: "background",
  });
  const scheduler = new Scheduler({
    journal,
    log,
    shares: (op) => findOp(op)?.mutates === false,
    run,
  });
  scheduler.recover();
  const keyring = new KeyringHolder({
    keys: [{ id: "bench", ops: ["*"], secrets: [await verifyingSecret(secret)] }],
    files: [],
  });
  return { app: createApp({ scheduler, journal, keyring, settings, log }), journal, scheduler };
}

/** The executor's app with the pooled launcher behind it, and no listener. */
async function appSample(dir: string, launcher: Launcher, n: number): Promise<number> {
  const secret = newSecret();
  const { app, journal, scheduler } = await benchApp(
    dir,
    secret,
    launcher.settings,
    (job, signal) =>
      launcher.invoke(findOp(job.op)!, job.input, {
        signal,
        onStart: (pgid, deadline) => journal.markProcess(job.id, pgid, deadline, 0),
      }),
  );
  const trigger = async () => {
    const signed = await signedRequest("http://rootfence/hooks/sensors", {
      secret,
      body: "{}",
      headers: { prefer: "wait=60", "cache-control": "no-cache" },
    });
    // As the executor hands it over: the body beside the request (`AppBindings`).
    const body = new Uint8Array(await signed.arrayBuffer());
    const request = new Request(signed.url, { method: "POST", headers: signed.headers });
    const response = await app.fetch(request, { body });
    if ((await response.json()).status !== "succeeded") throw new Error("app sensors failed");
  };
  for (let i = 0; i < 20; i++) await trigger();
  const ms = await sample(n, trigger);
  await scheduler.shutdown(0);
  journal.close();
  return ms;
}

/**
 * Every journal write of one read-only job that starts at once, as the receiver makes them:
 * accepted as running, its process group, finished with `result`.
 */
export function journalReadJob(journal: Journal, n: number, result: unknown): void {
  const { job } = journal.accept(
    {
      keyId: "bench",
      deliveryId: `d${n}`,
      bodyHash: "x",
      op: "sensors",
      input: {},
      resourceKeys: [],
    },
    Date.now(),
    "running",
    null,
    // As for a trigger with `Prefer: wait`, which the benchmark sends: held, one write at its end.
    true,
  );
  journal.markProcess(job.id, 4242, Date.now() + 10_000, 0);
  journal.markFinished(job.id, "succeeded", result, Date.now());
}

/** Measures the components with `n` samples each. */
export async function breakdown(binPath: string, n: number): Promise<Breakdown> {
  const sensors = findOp("sensors")!;
  const launcher = await Launcher.create({ binPath, pool: {} });
  launcher.warm(OPS.filter((op) => op.name === "sensors"));
  await new Promise((r) => setTimeout(r, 1000));
  const bare = () =>
    new Deno.Command(launcher.binaries.sensors!, {
      args: ["-j"],
      clearEnv: true,
      env: { LC_ALL: "C" },
      stdout: "piped",
      stderr: "piped",
    }).output().then(() => undefined);
  const fenced = async () => {
    const run = await launcher.invoke(sensors, {});
    if (!run.ok) throw new Error(`fenced sensors failed: ${JSON.stringify(run.error)}`);
  };
  for (let i = 0; i < 20; i++) await fenced();
  const bareSpawnMs = await sample(n, bare);
  const fencedInvokeMs = await sample(n, fenced);
  const dir = await Deno.makeTempDir({ prefix: "rootfence-bench-journal-" });
  const journal = Journal.open(`${dir}/journal.db`, {
    synced: (op) => findOp(op)?.mutates ?? true,
    checkpoints: "background",
  });
  let i = 0;
  const journalJobMs = await sample(n, () => {
    journalReadJob(journal, i++, { ok: true });
    return Promise.resolve();
  });
  journal.close();
  const appMs = await appSample(dir, launcher, n);
  await launcher.close();
  await Deno.remove(dir, { recursive: true });
  const round = (ms: number) => +ms.toFixed(3);
  return {
    bareSpawnMs: round(bareSpawnMs),
    fencedInvokeMs: round(fencedInvokeMs),
    fenceOverheadMs: round(fencedInvokeMs - bareSpawnMs),
    journalJobMs: round(journalJobMs),
    appMs: round(appMs),
    appOverheadMs: round(appMs - fencedInvokeMs - journalJobMs),
  };
}
