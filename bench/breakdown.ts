/**
 * Where rootfence's time goes, measured in the same run: a bare spawn of the host binary from
 * Deno, a pooled fenced invocation of the same op, the journal writes of one read-only job, and
 * the executor's whole app in-process (signature, validation, journal, scheduler, pooled
 * invocation, JSON) with no HTTP and no listener in front, taken in turn so that drift hits them
 * alike.
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

/**
 * The p50 of `n` timed runs of each task, in ms, the tasks taken in turn (one run of each, then
 * again): the differences between them are what the breakdown reports, and on a shared machine
 * a task timed after the others would carry the drift between them.
 */
export async function interleaved<K extends string>(
  n: number,
  tasks: Readonly<Record<K, () => Promise<void>>>,
): Promise<Record<K, number>> {
  const names = Object.keys(tasks) as K[];
  const times = new Map<K, number[]>(names.map((name) => [name, []]));
  for (let i = 0; i < n; i++) {
    for (const name of names) {
      const t = performance.now();
      await tasks[name]();
      times.get(name)!.push(performance.now() - t);
    }
  }
  const p50 = {} as Record<K, number>;
  for (const name of names) p50[name] = percentile(times.get(name)!, 50);
  return p50;
}

/** The p50 of `n` timed runs of `task`, in ms. */
export async function sample(n: number, task: () => Promise<void>): Promise<number> {
  return (await interleaved(n, { task })).task;
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

/**
 * The executor's app with the pooled launcher behind it, and no listener: `count` triggers,
 * signed beforehand (as wrk's are), each answered with its finished job.
 */
async function appTriggers(
  dir: string,
  launcher: Launcher,
  count: number,
): Promise<{ trigger: () => Promise<void>; close: () => Promise<void> }> {
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
  const signed: { url: string; headers: Headers; body: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    const request = await signedRequest("http://rootfence/hooks/sensors", {
      secret,
      body: "{}",
      headers: { prefer: "wait=60", "cache-control": "no-cache" },
    });
    signed.push({
      url: request.url,
      headers: request.headers,
      body: new Uint8Array(await request.arrayBuffer()),
    });
  }
  let next = 0;
  return {
    async trigger() {
      const { url, headers, body } = signed[next++]!;
      // As the executor hands it over: the body beside the request (`AppBindings`).
      const response = await app.fetch(new Request(url, { method: "POST", headers }), { body });
      if ((await response.json()).status !== "succeeded") throw new Error("app sensors failed");
    },
    async close() {
      await scheduler.shutdown(0);
      journal.close();
    },
  };
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
  const dir = await Deno.makeTempDir({ prefix: "rootfence-bench-journal-" });
  const journal = Journal.open(`${dir}/journal.db`, {
    synced: (op) => findOp(op)?.mutates ?? true,
    checkpoints: "background",
  });
  let jobs = 0;
  const journalJob = () => {
    journalReadJob(journal, jobs++, { ok: true });
    return Promise.resolve();
  };
  const warm = 20;
  const app = await appTriggers(dir, launcher, warm + n);
  for (let w = 0; w < warm; w++) {
    await fenced();
    await journalJob();
    await app.trigger();
  }
  const p50 = await interleaved(n, { bare, fenced, journal: journalJob, app: app.trigger });
  await app.close();
  journal.close();
  await launcher.close();
  await Deno.remove(dir, { recursive: true });
  const round = (ms: number) => +ms.toFixed(3);
  return {
    bareSpawnMs: round(p50.bare),
    fencedInvokeMs: round(p50.fenced),
    fenceOverheadMs: round(p50.fenced - p50.bare),
    journalJobMs: round(p50.journal),
    appMs: round(p50.app),
    appOverheadMs: round(p50.app - p50.fenced - p50.journal),
  };
}
