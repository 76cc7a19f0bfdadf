import assert from "node:assert/strict";
import type { Job } from "./journal.ts";
import { SharedRuns, shareKey } from "./shared_runs.ts";

function job(id: string, fields: Partial<Job> = {}): Job {
  return {
    id,
    keyId: "k",
    deliveryId: `d-${id}`,
    bodyHash: "h",
    op: "smart",
    input: { device: "/dev/sda" },
    resourceKeys: [],
    status: "queued",
    createdAt: 1000,
    startedAt: null,
    finishedAt: null,
    result: null,
    servedBy: null,
    ...fields,
  };
}

const KEY = shareKey(job("x"));

Deno.test("shareKey() tells inputs and ops apart", () => {
  assert.notEqual(KEY, shareKey({ op: "smart", input: { device: "/dev/sdb" } }));
  assert.notEqual(KEY, shareKey({ op: "sensors", input: { device: "/dev/sda" } }));
});

Deno.test("find() offers a queued run to every read but no-cache", () => {
  const runs = new SharedRuns();
  runs.lead(KEY, job("a"));
  assert.equal(runs.find(KEY, "queued", 2000)?.kind, "join");
  assert.equal(runs.find(KEY, { maxAgeMs: 0 }, 2000)?.kind, "join");
  assert.equal(runs.find(KEY, "own", 2000), undefined);
});

Deno.test("find() offers a running run only to max-age reads it is young enough for", () => {
  const runs = new SharedRuns();
  runs.lead(KEY, job("a"));
  runs.started(job("a", { status: "running", startedAt: 1000 }));
  assert.equal(runs.find(KEY, "queued", 2000), undefined);
  assert.equal(runs.find(KEY, { maxAgeMs: 999 }, 2000), undefined);
  assert.equal(runs.find(KEY, { maxAgeMs: 1000 }, 2000)?.kind, "join");
});

Deno.test("finished() hands the leader's outcome to every follower and remembers a success", () => {
  const runs = new SharedRuns();
  runs.lead(KEY, job("a"));
  const flight = runs.flightOf("a")!;
  runs.follow(flight, job("b", { servedBy: "a" }));
  assert.deepEqual(
    runs.started(job("a", { status: "running", startedAt: 1500 })).map((j) => [
      j.id,
      j.status,
      j.startedAt,
    ]),
    [["b", "running", 1500]],
  );
  const done = runs.finished(
    job("a", { status: "succeeded", startedAt: 1500, finishedAt: 1600, result: { ok: true } }),
  );
  assert.deepEqual(done.map((j) => [j.id, j.status, j.finishedAt, j.result]), [
    ["b", "succeeded", 1600, { ok: true }],
  ]);
  assert.equal(runs.find(KEY, "queued", 1700), undefined, "a finished run is never joined");
  assert.deepEqual(runs.find(KEY, { maxAgeMs: 200 }, 1700), { kind: "answer", jobId: "a" });
  assert.equal(runs.find(KEY, { maxAgeMs: 199 }, 1700), undefined);
});

Deno.test("a run that did not succeed never answers a later read", () => {
  const runs = new SharedRuns();
  runs.lead(KEY, job("a"));
  runs.finished(job("a", { status: "failed", startedAt: 1000, finishedAt: 1100 }));
  assert.equal(runs.find(KEY, { maxAgeMs: 60_000 }, 1200), undefined);
});

Deno.test("a run serves at most maxFollowers others; later reads get their own", () => {
  const runs = new SharedRuns({ maxFollowers: 1 });
  runs.lead(KEY, job("a"));
  const share = runs.find(KEY, "queued", 1000);
  assert.equal(share?.kind, "join");
  if (share?.kind === "join") runs.follow(share.flight, job("b"));
  assert.equal(runs.find(KEY, "queued", 1000), undefined);
});

Deno.test("only the newest maxAnswers runs are remembered", () => {
  const runs = new SharedRuns({ maxAnswers: 1 });
  const other = shareKey({ op: "smart", input: { device: "/dev/sdb" } });
  runs.lead(KEY, job("a"));
  runs.finished(job("a", { status: "succeeded", startedAt: 1000 }));
  runs.lead(other, job("b"));
  runs.finished(job("b", { status: "succeeded", startedAt: 1000 }));
  assert.equal(runs.find(KEY, { maxAgeMs: 60_000 }, 1000), undefined);
  assert.equal(runs.find(other, { maxAgeMs: 60_000 }, 1000)?.kind, "answer");
});

Deno.test("of two overlapping runs that succeed, the one that started last answers, whichever ends last", () => {
  const runs = new SharedRuns();
  runs.lead(KEY, job("early"));
  runs.started(job("early", { status: "running", startedAt: 1000 }));
  runs.lead(KEY, job("late"));
  runs.started(job("late", { status: "running", startedAt: 1700 }));
  runs.finished(job("late", { status: "succeeded", startedAt: 1700, finishedAt: 1800 }));
  runs.finished(job("early", { status: "succeeded", startedAt: 1000, finishedAt: 4000 }));
  assert.deepEqual(runs.find(KEY, { maxAgeMs: 5000 }, 4100), { kind: "answer", jobId: "late" });
  // Too old for the early run, young enough for the late one: still an answer, no new run.
  assert.deepEqual(runs.find(KEY, { maxAgeMs: 2500 }, 4100), { kind: "answer", jobId: "late" });
});
