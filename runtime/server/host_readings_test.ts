import assert from "node:assert/strict";
import type { Invocation } from "../process/launcher.ts";
import { HostReadings, METRICS_KEY_ID } from "./host_readings.ts";
import { type Job, Journal } from "./journal.ts";
import { sharesRuns } from "./run_policy.ts";
import { Scheduler } from "./scheduler.ts";

const SENSORS = { chips: [], repairs: [], noSensors: true };
const DISKS = { disks: [], counts: { found: 0, read: 0, failed: 0, skipped: 0 } };

/** A real scheduler and journal whose runner records each run and answers as told. */
async function bench(answer: (job: Job) => Invocation | Promise<Invocation>) {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-host-readings-" });
  const journal = Journal.open(`${dir}/journal.db`);
  const runs: Job[] = [];
  // One clock for the scheduler (its runs' ages) and the reads (their max age).
  let clock = 1_000_000;
  const scheduler = new Scheduler({
    journal,
    log: () => {},
    now: () => clock,
    shares: sharesRuns,
    run: async (job) => {
      runs.push(job);
      return await answer(job);
    },
  });
  scheduler.recover();
  const readings = (waitMs = 2_000) =>
    new HostReadings({
      scheduler,
      journal,
      settings: { mountBase: "/mnt/usb" },
      maxAgeMs: { smart: 300_000, sensors: 30_000 },
      waitMs,
      now: () => clock,
    });
  return {
    journal,
    scheduler,
    runs,
    readings,
    advance: (ms: number) => clock += ms,
    async close() {
      await scheduler.shutdown(0);
      journal.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const ok = (job: Job): Invocation => ({
  op: job.op,
  ok: true,
  argv: [],
  result: job.op === "smart" ? DISKS : SENSORS,
  durationMs: 1,
});

Deno.test("HostReadings runs each read as a journaled job of its own key, at most once per max age", async () => {
  const b = await bench(ok);
  try {
    const host = b.readings();
    const first = await host.read();
    assert.deepEqual(b.runs.map((job) => [job.op, job.keyId, job.input]), [
      ["smart", METRICS_KEY_ID, {}],
      ["sensors", METRICS_KEY_ID, {}],
    ]);
    assert.deepEqual(first.sensors.good?.value, SENSORS);
    assert.deepEqual(first.smart.attempt, { ok: true });
    await host.read();
    b.advance(29_000);
    await host.read();
    assert.equal(b.runs.length, 2, "within both max ages nothing runs");
    b.advance(2_000);
    await host.read();
    assert.deepEqual(b.runs.map((job) => job.op), ["smart", "sensors", "sensors"]);
  } finally {
    await b.close();
  }
});

Deno.test("HostReadings shares one attempt between scrapes, and answers after waitMs with what it has", async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  const b = await bench(async (job) => {
    if (job.op === "smart") await held;
    return ok(job);
  });
  try {
    const host = b.readings(100);
    const [one, two] = await Promise.all([host.read(), host.read()]);
    assert.equal(b.runs.filter((job) => job.op === "smart").length, 1);
    assert.equal(one.smart.attempt, undefined, "the scrape did not wait for the slow read");
    assert.deepEqual(two.sensors.attempt, { ok: true });
    release();
    await new Promise((r) => setTimeout(r, 50));
    const later = await host.read();
    assert.deepEqual(later.smart.good?.value, DISKS);
    assert.equal(b.runs.filter((job) => job.op === "smart").length, 1);
  } finally {
    release();
    await b.close();
  }
});

Deno.test("HostReadings counts a failed read, keeps the last good one, and retries only after max age", async () => {
  let fail = false;
  const b = await bench((job) =>
    fail
      ? {
        op: job.op,
        ok: false,
        argv: [],
        error: { code: "command_failed", message: "smartctl broke" },
        durationMs: 1,
      }
      : ok(job)
  );
  try {
    const host = b.readings();
    const good = await host.read();
    fail = true;
    b.advance(300_001);
    const failed = await host.read();
    assert.deepEqual(failed.smart.attempt, { ok: false, code: "command_failed" });
    assert.deepEqual(failed.smart.failures, { command_failed: 1 });
    assert.deepEqual(failed.smart.good, good.smart.good, "the last good reading stays");
    const runs = b.runs.length;
    await host.read();
    assert.equal(b.runs.length, runs, "a failure is not retried before its max age");
  } finally {
    await b.close();
  }
});

Deno.test("HostReadings takes an identical trigger's run that started within the max age", async () => {
  const b = await bench(ok);
  try {
    const trigger = b.scheduler.submit({
      keyId: "monitoring",
      deliveryId: "d1",
      bodyHash: "h",
      op: "sensors",
      input: {},
      resourceKeys: [],
    });
    assert.ok("job" in trigger);
    const done = await b.scheduler.waitFor(trigger.job.id, 2_000);
    const reads = await b.readings().read();
    assert.equal(b.runs.filter((job) => job.op === "sensors").length, 1, "no second sensors run");
    assert.equal(reads.sensors.good?.at, done?.startedAt, "its age counts from that run's start");
  } finally {
    await b.close();
  }
});
