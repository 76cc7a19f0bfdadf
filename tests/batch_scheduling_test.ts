/**
 * `deno task start` runs the receiver under SCHED_BATCH: the listener, the executor, its fenced
 * children and the binaries they run. The fake `sensors` notes the policy it ran under.
 */
import assert from "node:assert/strict";
import { fakeBin, shQuote } from "./_fakes.ts";
import { startReceiver } from "./_receiver.ts";
import { SCHED_BATCH, schedulingPolicy } from "../runtime/server/batch_scheduling.ts";

/** Every process below `root`, from /proc. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      parents.set(Number(entry.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, parent] of parents) if (parent === tree[i]) tree.push(pid);
  }
  return tree.slice(1);
}

Deno.test("receiver: the listener, the executor, its children and their binaries run under SCHED_BATCH", async () => {
  const fakes = await fakeBin();
  const policy = `${fakes.dir}/policy`;
  // Field 41 of /proc/self/stat is the policy; the name (field 2) has no space here.
  await fakes.write(
    "sensors",
    [`cut -d' ' -f41 /proc/$$/stat > ${shQuote(policy)}`, `printf '{}'`].join("\n"),
  );
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-batch-" });
  const receiver = await startReceiver(stateDir, [
    "--bin-path",
    `${fakes.dir}:/usr/sbin:/usr/bin:/sbin:/bin`,
  ]);
  try {
    const answer = await receiver.send("sensors", {}, { wait: 30 });
    const job = await answer.json();
    assert.equal(answer.status, 200, JSON.stringify(job));
    assert.equal(job.status, "succeeded", JSON.stringify(job));
    assert.equal(Number(await Deno.readTextFile(policy)), SCHED_BATCH, "the host binary");
    assert.equal(schedulingPolicy(receiver.pid), SCHED_BATCH, "the executor");
    assert.equal(schedulingPolicy(receiver.listenerPid), SCHED_BATCH, "the listener");
    const children = descendants(receiver.pid).filter((pid) =>
      Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("--op=")
    );
    assert.ok(children.length > 0, "no pooled child found");
    for (const pid of children) assert.equal(schedulingPolicy(pid), SCHED_BATCH, `child ${pid}`);
  } finally {
    await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});
