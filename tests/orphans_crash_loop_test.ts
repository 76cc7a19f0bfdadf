/**
 * A crash loop: the executor that found an orphan (and wrote its job `interrupted`) dies too while
 * the orphan still runs. The next one must still know of it, keep its disk (or vmid) taken and
 * enforce its deadline: in-process, three schedulers in turn on one journal, whose process groups
 * always report the orphan alive.
 */
import assert from "node:assert/strict";
import type { Invocation } from "../runtime/process/launcher.ts";
import { type Job, Journal } from "../runtime/server/journal.ts";
import { sharesRuns, syncsRows } from "../runtime/server/run_policy.ts";
import { type ProcessGroups, Scheduler } from "../runtime/server/scheduler.ts";
import { refuseWrites } from "./_app.ts";
import { until } from "./_watch.ts";

const BOOT = 1_700_000_000_000;
const SDA = ["smart:/dev/sda"];

/** One executor's life on the journal in `dir`; `crash()` drops it as a `kill -9` would. */
function executor(dir: string, orphanAlive: () => boolean, killed: number[] = []) {
  const journal = Journal.open(`${dir}/journal.db`, { synced: syncsRows });
  const runs: Job[] = [];
  let crashed = false;
  const groups: ProcessGroups = {
    // After the crash this executor checks nothing more (it is dead).
    alive: (_pgid) => crashed ? new Promise(() => {}) : Promise.resolve(orphanAlive()),
    kill: (pgid) => {
      killed.push(pgid);
      return Promise.resolve();
    },
    boot: () => BOOT,
  };
  const scheduler = new Scheduler({
    journal,
    log: () => {},
    maxRunning: 4,
    shares: sharesRuns,
    groups,
    run(job) {
      runs.push(job);
      // The host command outlives every executor in this test.
      return new Promise<Invocation>(() => {});
    },
  });
  const recovered = scheduler.recover();
  return {
    journal,
    scheduler,
    runs,
    recovered,
    crash() {
      crashed = true;
      // In one process a dead executor's timers would go on: its scheduler stops taking part.
      void scheduler.shutdown(0);
      journal.close();
    },
  };
}

function smartJob(deliveryId: string) {
  return {
    keyId: "automation",
    deliveryId,
    bodyHash: deliveryId,
    op: "smart",
    input: { device: "/dev/sda" },
    resourceKeys: SDA,
  };
}

/** Executor 1 starts a read of /dev/sda, puts its smartctl (pgid 4242) on record, and dies. */
function crashedWithOrphan(dir: string, deadline: number): Job {
  const first = executor(dir, () => true);
  const submitted = first.scheduler.submit(smartJob("msg_orphan"), "own");
  assert.equal(submitted.kind, "created");
  const orphanJob = (submitted as { job: Job }).job;
  first.journal.markProcess(orphanJob.id, 4242, deadline, BOOT);
  first.crash();
  return orphanJob;
}

Deno.test("an orphan keeps its disk taken across a second crash, until its processes are gone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-double-crash-" });
  try {
    crashedWithOrphan(dir, Date.now() + 3_600_000);

    // Executor 2 finds the orphan, keeps /dev/sda taken: a new read of it queues. Then it dies.
    const second = executor(dir, () => true);
    assert.equal(second.recovered.orphans, 1);
    const queued = second.scheduler.submit(smartJob("msg_next"), "own");
    assert.equal((queued as { job: Job }).job.status, "queued");
    await new Promise((r) => setTimeout(r, 300));
    second.crash();

    // Executor 3: the orphan (pgid 4242) still runs, so /dev/sda must still be taken.
    const third = executor(dir, () => true);
    try {
      assert.equal(third.runs.length, 0, "a second read of /dev/sda started beside the orphan");
      assert.equal(third.recovered.orphans, 1, "the orphan of the first crash is forgotten");
    } finally {
      third.crash();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an orphan past its deadline is not watched again after a second crash: its pgid may be another's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-double-crash-" });
  try {
    crashedWithOrphan(dir, Date.now() + 100);
    // Executor 2 sees the group gone, but the journal refuses that note (a full disk); it dies.
    const second = executor(dir, () => false);
    refuseWrites(second.journal, "markProcesses", "always");
    assert.equal(second.recovered.orphans, 1);
    await new Promise((r) => setTimeout(r, 300));
    second.crash();

    // Executor 3, past the deadline: pgid 4242 now leads some unrelated group.
    await new Promise((r) => setTimeout(r, 300));
    const killed: number[] = [];
    const third = executor(dir, () => true, killed);
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(third.recovered.orphans, 0);
      assert.deepEqual(killed, [], "a pgid that may be someone else's was killed");
      assert.ok(third.scheduler.submit(smartJob("msg_next"), "own").kind === "created");
      assert.equal(third.runs.length, 1, "the disk stayed taken");
    } finally {
      third.crash();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an orphan's end the journal refuses to note is noted once it can be", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-double-crash-" });
  try {
    const orphanJob = crashedWithOrphan(dir, Date.now() + 3_600_000);
    // The group is gone at once, and the journal refuses the first note of it.
    const second = executor(dir, () => false);
    refuseWrites(second.journal, "markProcesses", "once");
    assert.equal(second.recovered.orphans, 1);
    try {
      const noted = () => second.journal.get(orphanJob.id)?.result;
      const gone = await until(
        () => (noted() as { error?: { processes?: string } })?.error?.processes === "gone",
        5_000,
      );
      assert.ok(gone, `the orphan's end was never noted: ${JSON.stringify(noted())}`);
    } finally {
      second.crash();
    }
    // A later executor, before the deadline, has nothing to watch.
    const third = executor(dir, () => true);
    try {
      assert.equal(third.recovered.orphans, 0);
    } finally {
      third.crash();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
