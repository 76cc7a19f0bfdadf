/**
 * The journal refuses a write the scheduler needs (a full disk): a queued job's start, or a run's
 * end. No later job may start ahead of a job queued before it meanwhile.
 */
import assert from "node:assert/strict";
import type { Submitted } from "../runtime/server/scheduler.ts";
import { type Bench, bench, refuseWrites } from "./_app.ts";
import { until } from "./_watch.ts";

/** A job of `op` for a fresh delivery. */
function job(op: string, deliveryId: string, resourceKeys: string[] = []) {
  return { keyId: "automation", deliveryId, bodyHash: deliveryId, op, input: {}, resourceKeys };
}

/** The job a submission created. */
function created(submitted: Submitted) {
  assert.equal(submitted.kind, "created");
  return (submitted as Extract<Submitted, { kind: "created" }>).job;
}

/** One running job, and one queued behind it (one slot): the order under test. */
function runningAndQueued(b: Bench) {
  const first = created(b.scheduler.submit(job("sensors", "msg_first"), "own"));
  const second = created(b.scheduler.submit(job("smart", "msg_second", ["smart:/dev/sda"]), "own"));
  assert.equal(second.status, "queued");
  return { first, second };
}

/** Lets held runs end until the refusal of a write for `jobId` is logged. */
async function refused(b: Bench, jobId: string): Promise<void> {
  const logged = () => {
    b.release();
    return b.logs.some((l) => l.kind === "journal_error" && l.jobId === jobId);
  };
  assert.ok(await until(logged, 5_000), "the journal never refused the write");
}

/** Submits a read whose client waits: it needs no write to be accepted. */
function waitedForRead(b: Bench) {
  return created(b.scheduler.submit(job("sensors", "msg_third"), "own", { hold: true }));
}

Deno.test("a job submitted while the journal refuses the queue head's start runs after it, not before", async () => {
  const b = await bench({ maxRunning: 1, hold: true });
  try {
    const { second } = runningAndQueued(b);
    refuseWrites(b.journal, "markRunning", "once");
    await refused(b, second.id);
    // The slot is free: before the retry this read would start at once, ahead of `second`.
    const later = waitedForRead(b);
    assert.equal(later.status, "queued");
    assert.ok(!b.runs.some((run) => run.id === later.id), "the later job ran first");

    assert.ok(await until(() => b.runs.length === 2, 5_000), "the refused start was never retried");
    assert.equal(b.runs[1]!.id, second.id);
    const third = () => {
      b.release();
      return b.runs.length === 3;
    };
    assert.ok(await until(third, 5_000), "the later job never ran");
    assert.equal(b.runs[2]!.id, later.id);
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("a job submitted while the journal refuses a run's end runs after the job queued before it", async () => {
  const b = await bench({ maxRunning: 1, hold: true });
  try {
    const { first, second } = runningAndQueued(b);
    // Its slot is free, its result waits in memory, its resource keys stay taken.
    refuseWrites(b.journal, "markFinished", "once");
    await refused(b, first.id);
    const later = waitedForRead(b);
    const both = () => {
      b.release();
      return b.runs.length === 3;
    };
    assert.ok(await until(both, 5_000), "a queued job never ran");
    assert.deepEqual(b.runs.slice(1).map((run) => run.id), [second.id, later.id]);
  } finally {
    b.release();
    await b.close();
  }
});
