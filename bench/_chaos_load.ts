/**
 * Chaos fault 10: a load phase. Many `sensors` triggers over many connections against the fake
 * sensors, with `/healthz` probed and both receiver processes' memory and descriptors sampled
 * from /proc throughout; every acknowledged job must be journaled and run exactly once.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { shQuote } from "../tests/_fakes.ts";
import { SENSORS_OK } from "./_chaos_crash.ts";
import {
  type Fault,
  type Phase,
  type PhaseReceiver,
  type Sheet,
  SYSTEM_PATH,
} from "./_chaos_context.ts";
import { fdCount, health, memoryOf, sleep, until } from "./_chaos_proc.ts";
import { formatValue } from "./_chaos_report.ts";
import { drive, percentile } from "./stats.ts";

/** The receiver's RSS budget under load (BENCHMARKS.md: with 1000 requests in flight). */
const RSS_BUDGET_MIB = 200;

function journalCount(stateDir: string): number {
  const db = new DatabaseSync(`${stateDir}/journal.db`, { readOnly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM jobs").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** What one round of triggers got. */
interface Round {
  /** Answers by status (and code or job status). */
  readonly answers: Record<string, number>;
  /** Triggers that created a job (200 or 202 with a job id). */
  readonly accepted: number;
  readonly errors: number;
  readonly seconds: number;
  readonly latencies: number[];
  /** `/healthz` latencies of the probes that got a 200, and how many did not. */
  readonly probes: number[];
  readonly unanswered: number;
}

/** Sends `total` sensors triggers over `connections`, probing `/healthz` meanwhile. */
async function round(
  receiver: PhaseReceiver,
  total: number,
  connections: number,
  wait: number | undefined,
): Promise<Round> {
  const answers: Record<string, number> = {};
  let accepted = 0;
  let sending = true;
  const probes: number[] = [];
  let unanswered = 0;
  const prober = (async () => {
    while (sending) {
      const answer = await health(receiver.url, 5000);
      if (answer.status === 200) probes.push(answer.ms);
      else unanswered++;
      await sleep(50);
    }
  })();
  const started = performance.now();
  const driven = await drive(total, connections, async () => {
    // no-cache: every trigger runs on its own, as the queue bound and this count assume
    // (identical reads would otherwise share queued runs).
    const headers = { "cache-control": "no-cache" };
    const response = await receiver.send(
      "sensors",
      {},
      wait === undefined ? { headers } : { wait, headers },
    );
    const body = await response.json().catch(() => ({}));
    if (typeof body.jobId === "string") accepted++;
    const key = `${response.status} ${body.code ?? body.status ?? ""}`.trim();
    answers[key] = (answers[key] ?? 0) + 1;
  });
  const seconds = (performance.now() - started) / 1000;
  sending = false;
  await prober;
  return {
    answers,
    accepted,
    errors: driven.errors,
    seconds,
    latencies: driven.latencies,
    probes,
    unanswered,
  };
}

/** Records one round's figures under `name`; returns a sentence about it. */
function report(s: Sheet, name: string, total: number, r: Round): string {
  const count = (prefix: string) =>
    Object.entries(r.answers).filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
  s.add(`${name}: triggers acknowledged (job created)`, r.accepted);
  s.add(`${name}: answered 429`, count("429"));
  s.add(`${name}: answered 503`, count("503"));
  const fivexx = s.add(`${name}: answered 5xx`, count("5"), undefined, { op: "==", value: 0 });
  s.add(`${name}: every answer`, JSON.stringify(r.answers));
  s.add(`${name}: requests that failed outright`, r.errors, undefined, { op: "==", value: 0 });
  s.add(`${name}: seconds to send them`, r.seconds, "s");
  s.add(`${name}: trigger p50`, percentile(r.latencies, 50), "ms");
  s.add(`${name}: trigger p99`, percentile(r.latencies, 99), "ms");
  s.add(`${name}: /healthz probes`, r.probes.length + r.unanswered);
  s.add(`${name}: /healthz probes without a 200`, r.unanswered, undefined, { op: "==", value: 0 });
  const p50 = s.add(`${name}: /healthz p50`, percentile(r.probes, 50), "ms");
  const p99 = s.add(`${name}: /healthz p99`, percentile(r.probes, 99), "ms", {
    op: "<=",
    value: 1000,
  });
  s.add(`${name}: /healthz slowest`, Math.max(...r.probes), "ms");
  return `${name}: ${total} triggers took ${r.seconds.toFixed(1)} s and were answered ` +
    `${JSON.stringify(r.answers)} (${fivexx} 5xx, ${r.errors} failed outright); /healthz ` +
    `answered ${r.probes.length} of ${r.probes.length + r.unanswered} probes, p50 ` +
    `${formatValue(p50, "ms")}, p99 ${formatValue(p99, "ms")}.`;
}

/** 10. Load. */
export const load: Fault = {
  id: "10",
  title: "load: many triggers over many connections",
  setup: (scale) =>
    "Two rounds of signed `sensors` triggers, each over " +
    `${scale.loadConnections} concurrent connections, against a receiver with the default ` +
    "limits (4 running, 64 queued, one pooled child per op) and a fake sensors that answers at " +
    `once: a burst of ${scale.loadRequests} without \`Prefer: wait\` (as a webhook sender fires ` +
    "them); once its queue has drained, " +
    `${scale.waitRequests} with \`Prefer: wait=60\` (each connection waits for its job, so at ` +
    `most ${scale.loadConnections} are in flight). \`/healthz\` is probed every 50 ms ` +
    "throughout; VmRSS and descriptors of the listener and the executor are sampled every 100 " +
    "ms, and VmHWM read at the end. Then the queue is left to drain, and the journal and the " +
    "fake's recorded runs are counted.",
  promise: "The queue bound answers what does not fit with 429, never a 5xx. Every acknowledged " +
    "job is journaled and runs exactly once. `/healthz` answers every probe, p99 within 1 s. The " +
    `listener and the executor together peak at ${RSS_BUDGET_MIB} MiB of RSS or less.`,
  async run(phase: Phase) {
    const s = phase.sheet;
    const { loadRequests, waitRequests, loadConnections } = phase.scale;
    const fakes = await phase.fakes();
    await fakes.write("sensors", `printf '%s' ${shQuote(SENSORS_OK)}`);
    const stateDir = await phase.tempDir("load");
    const receiver = await phase.receiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM_PATH}`]);
    const pids = { listener: receiver.listenerPid, executor: receiver.pid };
    const idle = memoryOf(pids.listener).rssMiB + memoryOf(pids.executor).rssMiB;
    s.add("RSS of both at rest", idle, "MiB");
    const peak = { rss: 0, listenerFds: 0, executorFds: 0 };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rss = memoryOf(pids.listener).rssMiB + memoryOf(pids.executor).rssMiB;
        peak.rss = Math.max(peak.rss, rss || 0);
        peak.listenerFds = Math.max(peak.listenerFds, fdCount(pids.listener) || 0);
        peak.executorFds = Math.max(peak.executorFds, fdCount(pids.executor) || 0);
        await sleep(100);
      }
    })();
    phase.defer(() => {
      sampling = false;
      return sampler;
    });
    const drain = () =>
      until(
        async () => {
          for (const status of ["queued", "running"]) {
            const response = await receiver.read(`/jobs?status=${status}&limit=1`);
            if ((await response.json()).jobs?.length !== 0) return undefined;
          }
          return true;
        },
        120_000,
        250,
      );
    const burst = await round(receiver, loadRequests, loadConnections, undefined);
    const burstStory = report(s, "burst", loadRequests, burst);
    const between = performance.now();
    const emptied = await drain();
    s.add(
      "seconds for the burst's queue to drain",
      emptied ? (performance.now() - between) / 1000 : NaN,
      "s",
    );
    const waited = await round(receiver, waitRequests, loadConnections, 60);
    const waitStory = report(s, "wait", waitRequests, waited);
    const drained = await drain();
    sampling = false;
    await sampler;
    s.add("queue drained after the load", drained ? "yes" : "no", undefined, {
      op: "==",
      value: "yes",
    });
    const listener = memoryOf(pids.listener);
    const executor = memoryOf(pids.executor);
    s.add("listener peak RSS (VmHWM)", listener.hwmMiB, "MiB");
    s.add("executor peak RSS (VmHWM)", executor.hwmMiB, "MiB");
    const hwm = s.add(
      "listener + executor peak RSS (VmHWM)",
      listener.hwmMiB + executor.hwmMiB,
      "MiB",
      { op: "<=", value: RSS_BUDGET_MIB },
    );
    s.add("listener + executor highest sampled RSS", peak.rss, "MiB");
    s.add("listener descriptors at the peak", peak.listenerFds);
    s.add("executor descriptors at the peak", peak.executorFds);
    const runs = (await fakes.calls("sensors")).length;
    await receiver.stop();
    const accepted = burst.accepted + waited.accepted;
    const journaled = journalCount(stateDir);
    s.add("acknowledged jobs, both rounds", accepted);
    s.add("jobs in the journal", journaled);
    s.add(
      "acknowledged jobs missing from the journal",
      Math.max(0, accepted - journaled),
      undefined,
      {
        op: "==",
        value: 0,
      },
    );
    s.add("host runs", runs);
    s.add("host runs minus acknowledged jobs", runs - accepted, undefined, { op: "==", value: 0 });
    return `${burstStory} ${waitStory} Listener and executor peaked at ${hwm.toFixed(1)} MiB ` +
      `together (${idle.toFixed(1)} MiB at rest). The journal holds ${journaled} jobs and the ` +
      `fake ran ${runs} times for ${accepted} acknowledged jobs.`;
  },
};
