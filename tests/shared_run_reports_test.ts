/** A job that joins a run (queued or running) or takes a finished one: its events, view and listing are its run's. */
import assert from "node:assert/strict";
import { bench, signedGet, signedPost } from "./_app.ts";
import { eventStream } from "./_events.ts";
import type { ServerEvent } from "../runtime/cli/sse.ts";

const SDA = '{"device":"/dev/sda"}';
const shape = (e: ServerEvent) => [e.id, e.event, JSON.parse(e.data).status];

Deno.test("jobs served by a run (queued join, running join, answered): live events equal a replay, and the finished event equals the view", async () => {
  const b = await bench({ hold: true, maxRunning: 1 });
  try {
    const blocker = await (await b.app.request(await signedPost("smart", '{"device":"/dev/sdz"}')))
      .json();
    const leader = await (await b.app.request(await signedPost("smart", SDA))).json();
    const queuedJoin = await (await b.app.request(await signedPost("smart", SDA))).json();
    assert.equal(b.journal.get(queuedJoin.jobId)!.servedBy, leader.jobId);
    const liveQ = await eventStream(
      await b.app.request(await signedGet(`/jobs/${queuedJoin.jobId}/events`)),
    );
    assert.deepEqual(shape(await liveQ.next()), ["1", "queued", "queued"]);
    b.release(); // blocker ends; leader starts
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(b.journal.get(leader.jobId)!.status, "running");
    const runningJoin = await (await b.app.request(
      await signedPost("smart", SDA, { headers: { "cache-control": "max-age=60" } }),
    )).json();
    assert.equal(runningJoin.status, "running");
    const liveR = await eventStream(
      await b.app.request(await signedGet(`/jobs/${runningJoin.jobId}/events`)),
    );
    const list = await (await b.app.request(await signedGet("/jobs?status=running"))).json();
    assert.deepEqual(
      new Set(list.jobs.map((j: { jobId: string }) => j.jobId)),
      new Set([leader.jobId, queuedJoin.jobId, runningJoin.jobId]),
    );
    b.release();
    const restQ = await liveQ.rest();
    const restR = await liveR.rest();
    const run = await (await b.app.request(await signedGet(`/jobs/${leader.jobId}`))).json();
    for (const [id, live] of [[queuedJoin.jobId, restQ], [runningJoin.jobId, restR]] as const) {
      const replay =
        await (await eventStream(await b.app.request(await signedGet(`/jobs/${id}/events`))))
          .rest();
      const view = await (await b.app.request(await signedGet(`/jobs/${id}`))).json();
      assert.deepEqual(replay.map(shape), [["1", "queued", "queued"], ["2", "started", "running"], [
        "3",
        "finished",
        "succeeded",
      ]]);
      assert.deepEqual(replay.slice(-live.length), live, "live = replay");
      assert.deepEqual(JSON.parse(replay.at(-1)!.data), view);
      for (const k of ["status", "startedAt", "finishedAt", "result"]) {
        assert.deepEqual(view[k], run[k], k);
      }
    }
    const answered = await b.app.request(
      await signedPost("smart", SDA, { headers: { "cache-control": "max-age=60" } }),
    );
    const ans = await answered.json();
    const ansEvents =
      await (await eventStream(await b.app.request(await signedGet(`/jobs/${ans.jobId}/events`))))
        .rest();
    assert.deepEqual(ansEvents.map(shape), [
      ["1", "queued", "queued"],
      ["2", "started", "running"],
      ["3", "finished", "succeeded"],
    ]);
    assert.deepEqual(JSON.parse(ansEvents.at(-1)!.data), ans);
    void blocker;
  } finally {
    b.release();
    await b.close();
  }
});
