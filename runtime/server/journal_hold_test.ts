/**
 * Held read-only jobs (`Journal.accept` with `hold`): written once, when they end, and earlier
 * only when something about them leaves or they run long. Each row is looked for from a second
 * connection, as the next executor after a crash would see the file.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Journal, type NewJob } from "./journal.ts";

const read: NewJob = {
  keyId: "monitoring",
  deliveryId: "msg_1",
  bodyHash: "aa",
  op: "sensors",
  input: {},
  resourceKeys: [],
};

/** Only `create-golden-lxc` is synced here, as a mutating op is in the executor. */
const synced = (op: string) => op === "create-golden-lxc";

async function withJournal(
  fn: (journal: Journal, rowsOnDisk: () => Record<string, unknown>[]) => void | Promise<void>,
  holdMs = 60_000,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-hold-" });
  const journal = Journal.open(`${dir}/j.db`, { synced, holdMs });
  const other = new DatabaseSync(`${dir}/j.db`);
  const rowsOnDisk = () =>
    other.prepare("SELECT id, status, pgid, deadline, boot, served_by FROM jobs ORDER BY rowid")
      .all().map((row) => ({ ...row })) as Record<string, unknown>[];
  try {
    await fn(journal, rowsOnDisk);
  } finally {
    other.close();
    journal.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a held read is written once, when it ends, with its process group", async () => {
  await withJournal((journal, rowsOnDisk) => {
    const { job } = journal.accept(read, 1000, "running", null, true);
    journal.markProcess(job.id, 4242, 61_000, 7);
    assert.deepEqual(rowsOnDisk(), [], "nothing written while it runs");
    assert.equal(journal.get(job.id)?.status, "running");
    // A redelivery finds it, and another body under the same id is a conflict.
    assert.equal(journal.accept(read, 1001, "running", null, true).kind, "existing");
    assert.equal(journal.findDelivery(read.keyId, read.deliveryId)?.id, job.id);
    assert.equal(journal.accept({ ...read, bodyHash: "bb" }, 1002).kind, "conflict");
    assert.deepEqual(rowsOnDisk(), []);

    const finished = journal.markFinished(job.id, "succeeded", { ok: true }, 1500);
    assert.equal(finished.status, "succeeded");
    assert.deepEqual(rowsOnDisk(), [{
      id: job.id,
      status: "succeeded",
      pgid: 4242,
      deadline: 61_000,
      boot: 7,
      served_by: null,
    }]);
    const stored = journal.get(job.id)!;
    assert.deepEqual([stored.startedAt, stored.finishedAt, stored.result], [1000, 1500, {
      ok: true,
    }]);
    assert.equal(journal.accept(read, 1600, "running", null, true).kind, "existing");
  });
});

Deno.test("persist writes a held read as running, and its end is one more write", async () => {
  await withJournal((journal, rowsOnDisk) => {
    const { job } = journal.accept(read, 1000, "running", null, true);
    journal.markProcess(job.id, 4242, 61_000, 7);
    journal.persist(job.id);
    assert.deepEqual(rowsOnDisk().map((r) => [r.status, r.pgid]), [["running", 4242]]);
    journal.persist(job.id);
    journal.markFinished(job.id, "failed", { ok: false }, 1500);
    assert.deepEqual(rowsOnDisk().map((r) => [r.id, r.status]), [[job.id, "failed"]]);
  });
});

Deno.test("a held read that runs past holdMs is written, so a crash leaves its group on record", async () => {
  await withJournal(async (journal, rowsOnDisk) => {
    const { job } = journal.accept(read, 1000, "running", null, true);
    journal.markProcess(job.id, 4242, 61_000, 7);
    assert.deepEqual(rowsOnDisk(), []);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(rowsOnDisk().map((r) => [r.status, r.pgid]), [["running", 4242]]);
    assert.equal(journal.runningProcesses()[0]?.jobId, job.id);
  }, 50);
});

Deno.test("only a read-only job whose run is its own is held: mutating and served ones are written", async () => {
  await withJournal((journal, rowsOnDisk) => {
    const mutating = journal.accept(
      { ...read, deliveryId: "m", op: "create-golden-lxc" },
      1000,
      "running",
      null,
      true,
    );
    const unheld = journal.accept({ ...read, deliveryId: "u" }, 1000, "queued");
    const leader = journal.accept({ ...read, deliveryId: "l" }, 1000, "running", null, true);
    const follower = journal.accept({ ...read, deliveryId: "f" }, 1000, "running", leader.job.id);
    // The run the follower joined was written before it: its row names it.
    assert.deepEqual(rowsOnDisk().map((r) => r.id), [
      mutating.job.id,
      unheld.job.id,
      leader.job.id,
      follower.job.id,
    ]);
    journal.markFinished(leader.job.id, "succeeded", { ok: true }, 2000);
    const byId = new Map(rowsOnDisk().map((r) => [r.id, r]));
    assert.equal(byId.get(leader.job.id)?.status, "succeeded");
    assert.equal(byId.get(follower.job.id)?.status, "succeeded");
    assert.equal(byId.get(follower.job.id)?.served_by, leader.job.id);
  });
});

Deno.test("a held read's progress is never stored without its row", async () => {
  await withJournal((journal, rowsOnDisk) => {
    const { job } = journal.accept(read, 1000, "running", null, true);
    journal.addProgress(job.id, [{ seq: 3, at: 1100, progress: { line: "x" } as never }]);
    assert.deepEqual(rowsOnDisk().map((r) => [r.id, r.status]), [[job.id, "running"]]);
    assert.equal(journal.lastProgress(job.id), 3);
  });
});

Deno.test("a delivery looked up and missed, then written, is found again by a held accept", async () => {
  await withJournal((journal) => {
    assert.equal(journal.findDelivery(read.keyId, read.deliveryId), undefined);
    const queued = journal.accept(read, 1000, "queued");
    assert.equal(queued.kind, "created");
    const again = journal.accept(read, 1001, "running", null, true);
    assert.deepEqual([again.kind, again.job.id], ["existing", queued.job.id]);
  });
});

Deno.test("a held read may wait in the queue: its start writes nothing, its end once", async () => {
  await withJournal((journal, rowsOnDisk) => {
    const { job } = journal.accept(read, 1000, "queued", null, true);
    assert.equal(job.status, "queued");
    const running = journal.markRunning(job.id, 1100);
    assert.deepEqual([running.status, running.startedAt], ["running", 1100]);
    assert.deepEqual(rowsOnDisk(), []);
    journal.markFinished(job.id, "succeeded", { ok: true }, 1200);
    assert.deepEqual(rowsOnDisk().map((r) => [r.id, r.status]), [[job.id, "succeeded"]]);
    assert.equal(journal.get(job.id)?.startedAt, 1100);
  });
});

Deno.test("a held run that others join still ends after a synced write", async () => {
  // Found in review: a held run's end, with the jobs it served, set the sync level inside its
  // transaction, which SQLite refuses after a mutating op's (synced) write: it failed every retry.
  await withJournal((journal, rowsOnDisk) => {
    const leader = journal.accept(read, 1000, "queued", null, true);
    journal.accept({ ...read, deliveryId: "m", op: "create-golden-lxc" }, 1000, "running");
    const follower = journal.accept({ ...read, deliveryId: "f" }, 1001, "queued", leader.job.id);
    journal.markRunning(leader.job.id, 1100);
    journal.accept({ ...read, deliveryId: "m2", op: "create-golden-lxc" }, 1150, "running");
    journal.markFinished(leader.job.id, "succeeded", { ok: true }, 1200);
    const byId = new Map(rowsOnDisk().map((r) => [r.id, r.status]));
    assert.equal(byId.get(leader.job.id), "succeeded");
    assert.equal(byId.get(follower.job.id), "succeeded");
  });
});

Deno.test("a job that joins a held run is written with that run, never naming a job not on record", async () => {
  await withJournal((journal, rowsOnDisk) => {
    const leader = journal.accept(read, 1000, "queued", null, true);
    assert.deepEqual(rowsOnDisk(), []);
    const follower = journal.accept({ ...read, deliveryId: "f" }, 1001, "queued", leader.job.id);
    assert.deepEqual(rowsOnDisk().map((r) => [r.id, r.served_by]), [
      [leader.job.id, null],
      [follower.job.id, leader.job.id],
    ]);
  });
});
