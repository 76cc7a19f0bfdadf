import assert from "node:assert/strict";
import type { Submitted } from "../runtime/server/scheduler.ts";
import { bench } from "./_app.ts";
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

Deno.test("a job submitted while the journal refuses the queue head's start runs after it, not before", async () => {
  const b = await bench({ maxRunning: 1, hold: true });
  try {
    created(b.scheduler.submit(job("sensors", "msg_first"), "own"));
    const second = created(
      b.scheduler.submit(job("smart", "msg_second", ["smart:/dev/sda"]), "own"),
    );
    assert.equal(second.status, "queued");

    // The journal refuses one start (a full disk, say): the queued job waits for its retry.
    const markRunning = b.journal.markRunning.bind(b.journal);
    b.journal.markRunning = () => {
      b.journal.markRunning = markRunning;
      throw new Error("database or disk is full");
    };
    // The first run takes its hold a tick after it starts: release until its end is seen.
    const refused = () => {
      b.release();
      return b.logs.some((l) => l.kind === "journal_error" && l.jobId === second.id);
    };
    assert.ok(await until(refused, 5_000), "the start was never refused");

    // A read whose client waits needs no write to be accepted, and the slot is free: before the
    // retry it would start at once, ahead of the job queued before it.
    const later = created(b.scheduler.submit(job("sensors", "msg_third"), "own", { hold: true }));
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
    const first = created(b.scheduler.submit(job("sensors", "msg_first"), "own"));
    const second = created(
      b.scheduler.submit(job("smart", "msg_second", ["smart:/dev/sda"]), "own"),
    );
    assert.equal(second.status, "queued");

    // The journal refuses the first run's end once: its slot is free, its result waits in memory.
    const markFinished = b.journal.markFinished.bind(b.journal);
    b.journal.markFinished = () => {
      b.journal.markFinished = markFinished;
      throw new Error("database or disk is full");
    };
    const refused = () => {
      b.release();
      return b.logs.some((l) => l.kind === "journal_error" && l.jobId === first.id);
    };
    assert.ok(await until(refused, 5_000), "the end was never refused");

    // The queued job can start (a free slot, a free disk) and was queued first.
    const later = created(b.scheduler.submit(job("sensors", "msg_third"), "own", { hold: true }));
    assert.ok(!b.runs.some((run) => run.id === later.id), "the later job ran first");
    assert.equal(b.runs[1]?.id, second.id);
  } finally {
    b.release();
    await b.close();
  }
});
