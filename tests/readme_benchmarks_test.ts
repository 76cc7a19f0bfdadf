import assert from "node:assert/strict";

Deno.test("README's Performance table quotes the run BENCHMARKS.md holds", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const benchmarks = await Deno.readTextFile(new URL("../BENCHMARKS.md", import.meta.url));
  // README: "| p50, 1 connection | 5.76 ms | ... | 9.39 (1.63x) |" (webhook first, rootfence last).
  const row = readme.match(
    /^\| p50, 1 connection +\| ([\d.]+) ms +\|.*\| ([\d.]+) \(([\d.]+)x\) +\|$/m,
  );
  assert.ok(row, "README has no p50 row");
  const [, webhook, rootfence] = row;
  // BENCHMARKS.md's target row: "9.03 ms (1.621 x); rounds 1.500 x to 1.700 x, met in 0 of 5;
  // webhook 5.57 ms".
  assert.match(
    benchmarks,
    new RegExp(`\\| ${rootfence} ms \\([\\d.]+ x\\); rounds [^|]*; webhook ${webhook} ms +\\|`),
  );
});
