import assert from "node:assert/strict";
import { interleaved } from "./breakdown.ts";

Deno.test("interleaved() takes the tasks in turn and reports each one's p50", async () => {
  const calls: string[] = [];
  const task = (name: string, ms: number) => async () => {
    calls.push(name);
    await new Promise((resolve) => setTimeout(resolve, ms));
  };
  const p50 = await interleaved(3, { fast: task("fast", 0), slow: task("slow", 30) });
  assert.deepEqual(calls, ["fast", "slow", "fast", "slow", "fast", "slow"]);
  assert.deepEqual(Object.keys(p50), ["fast", "slow"]);
  // Timers fire no earlier than asked: the slow task's p50 is at least its delay.
  assert.ok(p50.slow >= 29, `slow p50 ${p50.slow}`);
  assert.ok(p50.fast < p50.slow, `fast ${p50.fast} slow ${p50.slow}`);
});
