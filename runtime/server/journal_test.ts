import assert from "node:assert/strict";
import { Journal, type NewJob } from "./journal.ts";

const job: NewJob = {
  keyId: "automation",
  deliveryId: "msg_1",
  bodyHash: "aa",
  op: "sensors",
  input: {},
  resourceKeys: ["sensors"],
};

Deno.test("Journal keeps jobs across reopen, dedupes deliveries and interrupts running jobs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-journal-" });
  try {
    const first = Journal.open(`${dir}/j.db`);
    const created = first.accept(job, 1000);
    assert.equal(created.kind, "created");
    assert.equal(first.accept(job, 1001).kind, "existing");
    assert.equal(first.accept({ ...job, bodyHash: "bb" }, 1002).kind, "conflict");
    assert.equal(first.accept({ ...job, keyId: "monitoring" }, 1003).kind, "created");
    first.markRunning(created.job.id, 1100);
    first.close();

    const second = Journal.open(`${dir}/j.db`);
    const interrupted = second.interruptRunning(2000);
    assert.deepEqual(interrupted.map((j) => j.id), [created.job.id]);
    const stored = second.get(created.job.id)!;
    assert.equal(stored.status, "interrupted");
    assert.equal(stored.finishedAt, 2000);
    assert.equal(second.queued().length, 1);
    assert.deepEqual(second.list({ keyId: "automation", limit: 10 }).map((j) => j.id), [
      created.job.id,
    ]);
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
