/**
 * Identical reads share one run (single flight): in-process against the app with a recording
 * runner, then once against a real receiver whose fake `smartctl` records every host run.
 */
import assert from "node:assert/strict";
import { bench, signedPost } from "./_app.ts";
import { fakeBin } from "./_fakes.ts";
import { startReceiver } from "./_receiver.ts";

const SDA = '{"device":"/dev/sda"}';

/** Sends `count` identical smart reads at once; returns their answers' bodies. */
async function reads(
  b: Awaited<ReturnType<typeof bench>>,
  count: number,
  headers: Record<string, string> = {},
) {
  const responses = await Promise.all(
    Array.from(
      { length: count },
      async () => await b.app.request(await signedPost("smart", SDA, { headers })),
    ),
  );
  return await Promise.all(responses.map(async (r) => {
    assert.ok(r.status === 200 || r.status === 202, String(r.status));
    return await r.json();
  }));
}

/** A bench whose one running slot is taken by another job, so new reads queue. */
async function busyBench() {
  const b = await bench({ hold: true, maxRunning: 1 });
  const blocker = await b.app.request(await signedPost("smart", '{"device":"/dev/sdz"}'));
  assert.equal((await blocker.json()).status, "running");
  return b;
}

/** Lets held runs finish, one after another, until every job in `ids` has. */
async function finish(b: Awaited<ReturnType<typeof bench>>, ids: string[]) {
  const deadline = Date.now() + 5000;
  const final = () => ids.map((id) => b.journal.get(id)!).filter((job) => job.finishedAt !== null);
  while (final().length < ids.length) {
    assert.ok(Date.now() < deadline, "jobs did not finish");
    b.release();
    await new Promise((r) => setTimeout(r, 10));
  }
  const jobs = final();
  for (const job of jobs) assert.equal(job.status, "succeeded", job.id);
  return jobs;
}

Deno.test("identical reads queued together share one run: a job each, one host run", async () => {
  const b = await busyBench();
  try {
    const answers = await reads(b, 8);
    const ids = answers.map((a) => a.jobId);
    assert.equal(new Set(ids).size, 8, "every delivery has its own job");
    const jobs = await finish(b, ids);
    assert.equal(b.runs.filter((run) => run.op === "smart").length, 2, "the blocker and one read");
    const leader = jobs.find((job) => job.servedBy === null)!;
    assert.ok(jobs.every((job) => job.servedBy === null || job.servedBy === leader.id));
    assert.equal(jobs.filter((job) => job.servedBy === leader.id).length, 7);
    assert.ok(jobs.every((job) => JSON.stringify(job.result) === JSON.stringify(leader.result)));
    // The job view names the run that served it.
    const view = await (await b.app.request(
      await signedPost("smart", SDA, {
        headers: { prefer: "wait=1", "cache-control": "max-age=60" },
      }),
    )).json();
    assert.equal(view.servedBy, leader.id);
    const own = b.journal.get(leader.id)!;
    assert.equal(own.servedBy, null);
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("a read with Cache-Control: no-cache never shares a run", async () => {
  const b = await busyBench();
  try {
    const plain = await reads(b, 1);
    const fresh = await reads(b, 3, { "cache-control": "no-cache" });
    const jobs = await finish(b, [...plain, ...fresh].map((a) => a.jobId));
    assert.equal(b.runs.filter((run) => run.op === "smart").length, 5);
    assert.ok(jobs.every((job) => job.servedBy === null));
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("Cache-Control: max-age takes a recent run, running or finished, and no older one", async () => {
  const b = await bench({ hold: true });
  try {
    const [first] = await reads(b, 1);
    assert.equal(first.status, "running");
    // A running run started before this request: only max-age may take it.
    const [aged] = await reads(b, 1, { "cache-control": "max-age=60" });
    const [plain] = await reads(b, 1);
    assert.equal(b.journal.get(aged.jobId)?.servedBy, first.jobId);
    assert.equal(b.journal.get(plain.jobId)?.servedBy, null);
    await finish(b, [first.jobId, plain.jobId, aged.jobId]);
    assert.equal(b.runs.length, 2);
    // Finished: answered from the journal at once, with no run at all.
    const answered = await b.app.request(
      await signedPost("smart", SDA, { headers: { "cache-control": "max-age=60" } }),
    );
    assert.equal(answered.status, 200);
    const view = await answered.json();
    assert.equal(view.status, "succeeded");
    assert.equal(view.servedBy, plain.jobId, "the latest run that succeeded");
    assert.deepEqual(view.result, b.journal.get(plain.jobId)?.result);
    // Its times are the run's: the answer itself says how old its reading is.
    const served = b.journal.get(plain.jobId)!;
    assert.equal(view.startedAt, new Date(served.startedAt!).toISOString());
    assert.equal(view.finishedAt, new Date(served.finishedAt!).toISOString());
    assert.ok(Date.parse(view.createdAt) > served.finishedAt!, "created after the run it took");
    assert.equal(b.runs.length, 2);
    // Older than max-age allows: a run of its own.
    await new Promise((r) => setTimeout(r, 1100));
    const [stale] = await reads(b, 1, { "cache-control": "max-age=1" });
    assert.equal(b.journal.get(stale.jobId)?.servedBy, null);
    await finish(b, [stale.jobId]);
    assert.equal(b.runs.length, 3);
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("a read that joins a running run starts when that run started, on record too", async () => {
  const b = await bench({ hold: true });
  try {
    const [first] = await reads(b, 1);
    await new Promise((r) => setTimeout(r, 300));
    const [joined] = await reads(b, 1, { "cache-control": "max-age=60" });
    assert.equal(b.journal.get(joined.jobId)?.servedBy, first.jobId);
    // Its reading is no fresher than the run's: it must not claim the time it joined.
    const run = b.journal.get(first.jobId)!;
    assert.equal(b.journal.get(joined.jobId)!.startedAt, run.startedAt);
    await finish(b, [first.jobId, joined.jobId]);
    assert.equal(b.journal.get(joined.jobId)!.startedAt, run.startedAt);
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("mutating ops never share a run, whatever Cache-Control says", async () => {
  const b = await bench({ hold: true, maxRunning: 1 });
  try {
    const body = JSON.stringify({
      vmid: 9000,
      ostemplate: "local:vztmpl/d.tar.zst",
      storage: "local",
      rootfsGb: 8,
    });
    const ids: string[] = [];
    for (const headers of [{}, {}, { "cache-control": "max-age=600" }]) {
      const response = await b.app.request(
        await signedPost("create-golden-lxc", body, { headers }),
      );
      assert.equal(response.status, 202);
      ids.push((await response.json()).jobId);
    }
    const jobs = await finish(b, ids);
    assert.equal(b.runs.length, 3);
    assert.ok(jobs.every((job) => job.servedBy === null));
    const again = await b.app.request(
      await signedPost("create-golden-lxc", body, { headers: { "cache-control": "max-age=600" } }),
    );
    assert.equal(again.status, 202, "never answered from an earlier run");
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("a read that shares a run keeps its own idempotency", async () => {
  const b = await busyBench();
  try {
    const leader = await (await b.app.request(await signedPost("smart", SDA))).json();
    const first = await b.app.request(await signedPost("smart", SDA, { id: "msg_shared" }));
    const { jobId } = await first.json();
    assert.equal(b.journal.get(jobId)?.servedBy, leader.jobId);
    const again = await b.app.request(await signedPost("smart", SDA, { id: "msg_shared" }));
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.equal((await again.json()).jobId, jobId);
    const other = await b.app.request(
      await signedPost("smart", '{"device":"/dev/sdb"}', { id: "msg_shared" }),
    );
    assert.equal(other.status, 409);
    await finish(b, [leader.jobId, jobId]);
    assert.equal(b.runs.filter((run) => run.op === "smart").length, 2);
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("receiver: 12 monitors reading SMART at once run smartctl at most twice; max-age runs it not at all", async () => {
  const fakes = await fakeBin();
  await fakes.write(
    "smartctl",
    `sleep 1; printf '{"smartctl":{"exit_status":0},"smart_status":{"passed":true}}'`,
  );
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-coalesce-" });
  const receiver = await startReceiver(stateDir, [
    "--bin-path",
    `${fakes.dir}:/usr/sbin:/usr/bin:/sbin:/bin`,
  ]);
  try {
    const body = { device: "/dev/sda" };
    const monitors = await Promise.all(
      Array.from({ length: 12 }, () => receiver.send("smart", body, { wait: 20 })),
    );
    const jobs = await Promise.all(monitors.map(async (r) => {
      assert.equal(r.status, 200);
      return await r.json();
    }));
    assert.ok(jobs.every((job) => job.status === "succeeded"));
    assert.equal(new Set(jobs.map((job) => job.jobId)).size, 12);
    // The run that had started before the others arrived, and one shared run after it.
    const calls = (await fakes.calls("smartctl")).length;
    assert.ok(calls <= 2, `${calls} runs`);
    assert.equal(new Set(jobs.map((job) => job.servedBy)).size, calls);
    const cached = await receiver.send("smart", body, {
      wait: 20,
      headers: { "cache-control": "max-age=60" },
    });
    const answer = await cached.json();
    assert.equal(answer.status, "succeeded");
    assert.ok(jobs.some((job) => job.jobId === answer.servedBy));
    const fresh = await receiver.send("smart", body, {
      wait: 20,
      headers: { "cache-control": "no-cache" },
    });
    const own = await fresh.json();
    assert.equal(own.servedBy, own.jobId);
    assert.equal((await fakes.calls("smartctl")).length, calls + 1);
  } finally {
    await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("after a restart, jobs a queued run serves wait for that run again; it runs once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-coalesce-" });
  try {
    const before = await bench({ hold: true, maxRunning: 1, dir });
    const blocker = await before.app.request(await signedPost("smart", '{"device":"/dev/sdz"}'));
    assert.equal((await blocker.json()).status, "running");
    const ids = (await reads(before, 4)).map((a) => a.jobId);
    before.release();
    await before.close();
    const after = await bench({ dir });
    try {
      const jobs = await Promise.all(ids.map((id) => after.scheduler.waitFor(id, 5000)));
      assert.ok(jobs.every((job) => job?.status === "succeeded"));
      assert.equal(after.runs.length, 1, "one run for the four");
      assert.equal(new Set(jobs.map((job) => job?.servedBy ?? job?.id)).size, 1);
    } finally {
      await after.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
