/**
 * What a restart does to jobs a shared run serves: they read as their run ended, and they wait
 * for their run again whatever the wall clock did.
 */
import assert from "node:assert/strict";
import type { Invocation } from "../runtime/process/launcher.ts";
import { type Job, Journal } from "../runtime/server/journal.ts";
import { sharesRuns, syncsRows } from "../runtime/server/run_policy.ts";
import { Scheduler } from "../runtime/server/scheduler.ts";

const SDA = { device: "/dev/sda" };

function read(deliveryId: string, device = "/dev/sda") {
  return {
    keyId: "monitoring",
    deliveryId,
    bodyHash: `h-${device}`,
    op: "smart",
    input: device === "/dev/sda" ? SDA : { device },
    resourceKeys: [`disk:${device}`],
  };
}

function executor(dir: string, clock: () => number, runs: Job[], hold: boolean, maxRunning = 4) {
  const journal = Journal.open(`${dir}/journal.db`, { synced: syncsRows });
  const scheduler = new Scheduler({
    journal,
    log: () => {},
    now: clock,
    maxRunning,
    shares: sharesRuns,
    run: (job) => {
      runs.push(job);
      const ok: Invocation = {
        op: job.op,
        ok: true,
        argv: [],
        result: { disks: [] },
        durationMs: 1,
      };
      return hold ? new Promise<Invocation>(() => {}) : Promise.resolve(ok);
    },
  });
  return { journal, scheduler };
}

Deno.test("restart: a job a running run served reads as that run ended (same result, processes too)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rf-atk3-" });
  try {
    let t = 1_000_000;
    const first = executor(dir, () => t, [], true);
    first.scheduler.recover();
    const leader = first.scheduler.submit(read("d-leader"));
    assert.ok("job" in leader && leader.job.status === "running");
    // As the executor's recordStart does before smartctl gets its request.
    first.journal.markProcess(leader.job.id, 4242, t + 3_600_000, 1);
    t += 10;
    const follower = first.scheduler.submit(read("d-follower"), { maxAgeMs: 60_000 });
    assert.ok("job" in follower);
    assert.equal(follower.job.servedBy, leader.job.id);
    first.journal.close(); // kill -9: nothing more is written
    t += 10;
    const second = executor(dir, () => t, [], false);
    try {
      second.scheduler.recover();
      const run = second.journal.get(leader.job.id)!;
      const served = second.journal.get(follower.job.id)!;
      assert.equal(run.status, "interrupted");
      assert.equal(served.status, "interrupted");
      assert.equal((run.result as { error: { processes?: string } }).error.processes, "running");
      assert.deepEqual(
        served.result,
        run.result,
        "every job the run serves finishes with the same result",
      );
      // The orphan watcher notes the run's processes gone: the job it served reads that too.
      second.journal.markProcesses(leader.job.id, "gone", t);
      assert.deepEqual(
        second.journal.get(follower.job.id)!.result,
        second.journal.get(leader.job.id)!.result,
      );
    } finally {
      await second.scheduler.shutdown(0);
      second.journal.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restart: a follower accepted after its leader under a clock stepped back still waits for that run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rf-atk3-" });
  try {
    let t = 1_000_000;
    const first = executor(dir, () => t, [], true, 1);
    first.scheduler.recover();
    const blocker = first.scheduler.submit(read("d-blocker", "/dev/sdz"));
    assert.ok("job" in blocker && blocker.job.status === "running");
    const leader = first.scheduler.submit(read("d-leader"));
    assert.ok("job" in leader && leader.job.status === "queued");
    t -= 5_000; // NTP steps the wall clock back
    const follower = first.scheduler.submit(read("d-follower"));
    assert.ok("job" in follower);
    assert.equal(follower.job.servedBy, leader.job.id);
    first.journal.close();
    t += 10_000;
    const runs: Job[] = [];
    const second = executor(dir, () => t, runs, false);
    try {
      second.scheduler.recover();
      const done = await Promise.all(
        [leader.job.id, follower.job.id].map((id) => second.scheduler.waitFor(id, 2_000)),
      );
      assert.ok(done.every((job) => job?.status === "succeeded"));
      assert.equal(runs.filter((job) => job.op === "smart").length, 1, "one run for the two");
    } finally {
      await second.scheduler.shutdown(0);
      second.journal.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
