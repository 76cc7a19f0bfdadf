import assert from "node:assert/strict";
import { batchScheduling, SCHED_BATCH, schedulingPolicy } from "./batch_scheduling.ts";

Deno.test("batchScheduling() sets the calling process's policy, which what it spawns inherits", async () => {
  // In a process of its own: the test runner's policy stays as it was.
  const code = `import { batchScheduling, schedulingPolicy } from ${
    JSON.stringify(import.meta.resolve("./batch_scheduling.ts"))
  };
    const before = schedulingPolicy(Deno.pid);
    const problem = await batchScheduling();
    const child = new Deno.Command("/bin/sleep", { args: ["0.2"] }).spawn();
    console.log(JSON.stringify([before, problem ?? null, schedulingPolicy(Deno.pid), schedulingPolicy(child.pid)]));
    await child.status;`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const [before, problem, after, child] = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.equal(before, schedulingPolicy(Deno.pid));
  assert.equal(problem, null);
  assert.equal(after, SCHED_BATCH);
  assert.equal(child, SCHED_BATCH);
});

Deno.test("batchScheduling() says why when chrt cannot run, and changes nothing", async () => {
  const before = schedulingPolicy(Deno.pid);
  assert.match(
    (await batchScheduling("/nonexistent/chrt"))!,
    /^\/nonexistent\/chrt: .*No such file/,
  );
  // chrt that refuses: false exits 1 whatever it is given.
  assert.match((await batchScheduling("/bin/false"))!, /^\/bin\/false exited with 1/);
  assert.equal(schedulingPolicy(Deno.pid), before);
});
