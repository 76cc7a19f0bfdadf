import assert from "node:assert/strict";
import { drive, percentile } from "./stats.ts";

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
