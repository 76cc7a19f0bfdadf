/**
 * The executor-side bench measures what it says: each side answers every signed line it is sent
 * (a side that refused or failed one would throw), and reports its CPU and the JS heap it
 * allocated per request.
 */
import assert from "node:assert/strict";
import { figuresOf } from "./executor_cpu.ts";

const BENCH = new URL("executor_cpu.ts", import.meta.url).pathname;

async function run(args: string[]): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", BENCH, ...args] })
    .output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.ok(output.success, `${args.join(" ")}: ${stderr}`);
  return new TextDecoder().decode(output.stdout);
}

Deno.test("the executor-side bench runs both sides through to CPU and allocation per request", async () => {
  for (const side of ["rootfence", "shape+work"]) {
    const { cpuMs, allocatedKiB } = figuresOf(await run([`--side=${side}`, "--requests=20"]));
    assert.ok(cpuMs > 0 && cpuMs < 1000, `${side}: ${cpuMs}`);
    // A request's JSON, headers and job alone take more than 1 KiB on either side.
    assert.ok(allocatedKiB > 1 && allocatedKiB < 100_000, `${side}: ${allocatedKiB}`);
  }
});

Deno.test("the executor-side bench keeps requests in flight on their own connections", async () => {
  // Eight at once against four running: rootfence's scheduler queues half of them, the shape's
  // pool makes them wait for a free child, and every one is still answered.
  for (const side of ["rootfence", "shape+work"]) {
    const args = [`--side=${side}`, "--requests=40", "--concurrency=8", "--run-ms=5"];
    const { cpuMs } = figuresOf(await run(args));
    assert.ok(cpuMs > 0 && cpuMs < 1000, `${side}: ${cpuMs}`);
  }
});

Deno.test("the executor-side bench reads a figure a side did not print as NaN", () => {
  const figures = figuresOf("executor CPU ms per request: 0.5\nready\n");
  assert.equal(figures.cpuMs, 0.5);
  assert.ok(Number.isNaN(figures.allocatedKiB));
});
