import assert from "node:assert/strict";
import { drive, percentile } from "./stats.ts";
import { mergeRounds } from "./wrk.ts";

Deno.test("percentile() is nearest-rank", () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(percentile(samples, 50), 50);
  assert.equal(percentile(samples, 99), 99);
  assert.equal(percentile(samples, 100), 100);
  assert.equal(percentile([7], 90), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

Deno.test("drive() never runs more than the concurrency at once and counts errors", async () => {
  let running = 0;
  let most = 0;
  const result = await drive(20, 3, async (i) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    if (i % 5 === 0) throw new Error("boom");
  });
  assert.equal(most, 3);
  assert.equal(result.errors, 4);
  assert.equal(result.latencies.length, 16);
});

Deno.test("mergeRounds() adds counts up, takes req/s over the whole time and each percentile's median", () => {
  const round = (
    p50Ms: number,
    p99Ms: number,
    requests: number,
    statuses: Record<string, number>,
  ) => ({
    requests,
    seconds: 2,
    rps: requests / 2,
    p50Ms,
    p90Ms: p50Ms + 1,
    p99Ms,
    maxMs: p99Ms + 5,
    statuses,
    socketErrors: 0,
    exhausted: 0,
  });
  const merged = mergeRounds([
    round(5, 30, 200, { "200": 200 }),
    round(9, 12, 100, { "200": 99, "500": 1 }),
    round(6, 14, 300, { "200": 300 }),
  ]);
  assert.deepEqual(merged, {
    requests: 600,
    seconds: 6,
    rps: 100,
    p50Ms: 6,
    p90Ms: 7,
    p99Ms: 14,
    maxMs: 35,
    statuses: { "200": 599, "500": 1 },
    socketErrors: 0,
    exhausted: 0,
  });
  assert.equal(mergeRounds([round(4, 10, 1, {}), round(5, 20, 1, {})]).p50Ms, 4.5);
  assert.throws(() => mergeRounds([]), RangeError);
});
