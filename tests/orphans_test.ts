/**
 * Nothing runs twice at once, whatever dies: a `pct create` left running by a dead executor or a
 * dead fenced child keeps its vmid locked until its processes are gone, its deadline still
 * holds after a restart, and its job says the outcome is unknown rather than "not run".
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type FakeBin, fakeBin, shQuote } from "./_fakes.ts";
import { startReceiver } from "./_receiver.ts";
import { eventually } from "./_watch.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";
const CREATE = {
  vmid: 9100,
  ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  storage: "local-lvm",
  rootfsGb: 8,
};

/** A fake pct that logs when each run starts and ends (seconds, with its pid). */
async function slowPct(fakes: FakeBin, seconds: number, extra = ""): Promise<string> {
  const log = `${fakes.dir}/pct.log`;
  await fakes.write(
    "pct",
    [
      `echo "start $(date +%s.%N) $$" >> ${shQuote(log)}`,
      extra,
      `sleep ${seconds}`,
      `echo "end $(date +%s.%N) $$" >> ${shQuote(log)}`,
    ].join("\n"),
  );
  return log;
}

interface Run {
  pid: string;
  start: number;
  end?: number;
}

async function runs(log: string): Promise<Run[]> {
  const text = await Deno.readTextFile(log).catch(() => "");
  const byPid = new Map<string, Run>();
  for (const line of text.trim().split("\n").filter(Boolean)) {
    const [what, at, pid] = line.split(" ") as [string, string, string];
    if (what === "start") byPid.set(pid, { pid, start: Number(at) });
    else byPid.get(pid)!.end = Number(at);
  }
  return [...byPid.values()];
}

/** Whether a process runs (a zombie waiting for a reaper does not). */
function alive(pid: string): boolean {
  try {
    return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
  } catch {
    return false;
  }
}

Deno.test("kill -9 of the executor mid pct create: the restarted receiver waits for the orphan before the next create on that vmid", async () => {
  const fakes = await fakeBin();
  const log = await slowPct(fakes, 3);
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-orphan-" });
  const args = ["--bin-path", `${fakes.dir}:${SYSTEM}`];
  const first = await startReceiver(stateDir, args);
  let second;
  try {
    const a = await (await first.send("create-golden-lxc", CREATE)).json();
    const b = await (await first.send("create-golden-lxc", CREATE)).json();
    assert.equal(a.status, "running");
    assert.equal(b.status, "queued");
    await eventually(async () => (await runs(log)).length === 1 ? true : undefined);
    await first.crash();
    second = await startReceiver(stateDir, args);
    assert.equal(second.ready.orphans, 1);
    const done = await eventually(async () => {
      const job = await (await second!.read(`/jobs/${b.jobId}`)).json();
      return job.status === "succeeded" ? job : undefined;
    });
    assert.equal(done.status, "succeeded");
    const [orphan, next] = await runs(log);
    assert.ok(orphan?.end !== undefined && next !== undefined, JSON.stringify(await runs(log)));
    assert.ok(next.start >= orphan.end!, `overlap: ${JSON.stringify([orphan, next])}`);
    const lost = await (await second.read(`/jobs/${a.jobId}`)).json();
    assert.equal(lost.status, "interrupted");
    assert.equal(lost.result.error.outcome, "unknown");
    assert.equal(lost.result.error.processes, "gone");
  } finally {
    await second?.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("after a restart the orphan's original deadline is still enforced", async () => {
  const fakes = await fakeBin();
  const log = await slowPct(fakes, 60);
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-deadline-" });
  const args = ["--bin-path", `${fakes.dir}:${SYSTEM}`];
  const first = await startReceiver(stateDir, args);
  let second;
  try {
    const a = await (await first.send("create-golden-lxc", CREATE)).json();
    const [orphan] = await eventually(async () => {
      const seen = await runs(log);
      return seen.length === 1 ? seen : undefined;
    });
    await first.crash();
    // As if the 15-minute timeout had run out while no executor was there to enforce it.
    const db = new DatabaseSync(`${stateDir}/journal.db`);
    db.prepare("UPDATE jobs SET deadline = ? WHERE id = ?").run(Date.now() - 1000, a.jobId);
    db.close();
    assert.ok(alive(orphan!.pid), "the orphaned pct outlived its executor");
    const restarted = await startReceiver(stateDir, args);
    second = restarted;
    const gone = await eventually(
      () => Promise.resolve(restarted.lines.find((l) => l.kind === "orphan_gone")),
      10_000,
    );
    assert.equal(gone.killedAtDeadline, true);
    assert.equal(alive(orphan!.pid), false);
    const job = await (await restarted.read(`/jobs/${a.jobId}`)).json();
    assert.equal(job.result.error.processes, "gone");
    assert.equal((await runs(log))[0]?.end, undefined, "killed, not finished");
  } finally {
    await second?.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a fenced child that dies mid-op takes its pct with it before the vmid is free", async () => {
  const fakes = await fakeBin();
  // The pct kills its own fenced child (its parent) and runs on, as an orphan would.
  const log = await slowPct(fakes, 3, "kill -9 $PPID");
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-childdeath-" });
  const receiver = await startReceiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM}`]);
  try {
    const a = await (await receiver.send("create-golden-lxc", CREATE, { wait: 20 })).json();
    assert.equal(a.status, "failed", JSON.stringify(a));
    assert.equal(a.result.error.code, "child_failed");
    assert.equal(a.result.error.outcome, "unknown");
    const [first] = await runs(log);
    assert.ok(first !== undefined && !alive(first.pid), "the pct was killed with its child");
    assert.equal(first.end, undefined);
  } finally {
    await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("after a reboot a recorded process group names someone else: it is never signalled", async () => {
  const fakes = await fakeBin();
  const log = await slowPct(fakes, 60);
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-reboot-" });
  const args = ["--bin-path", `${fakes.dir}:${SYSTEM}`];
  const first = await startReceiver(stateDir, args);
  let second;
  let orphan: Run | undefined;
  try {
    const a = await (await first.send("create-golden-lxc", CREATE)).json();
    [orphan] = await eventually(async () => {
      const seen = await runs(log);
      return seen.length === 1 ? seen : undefined;
    });
    await first.crash();
    // As if the machine had rebooted since: same pgid, an old boot, a deadline long past.
    const db = new DatabaseSync(`${stateDir}/journal.db`);
    db.prepare("UPDATE jobs SET boot = boot - 86400000, deadline = ? WHERE id = ?")
      .run(Date.now() - 1000, a.jobId);
    db.close();
    const restarted = await startReceiver(stateDir, args);
    second = restarted;
    const gone = await eventually(
      () => Promise.resolve(restarted.lines.find((l) => l.kind === "orphan_gone")),
      10_000,
    );
    assert.equal(gone.rebooted, true);
    assert.equal(gone.killedAtDeadline, false);
    assert.ok(alive(orphan!.pid), "a process group from another boot was signalled");
  } finally {
    await second?.stop();
    if (orphan !== undefined && alive(orphan.pid)) {
      // The whole group the test left running: the orphaned child, its pct and the sleep.
      const pgid = Number(
        Deno.readTextFileSync(`/proc/${orphan.pid}/stat`).split(") ")[1]!
          .split(" ")[2],
      );
      Deno.kill(-pgid, "SIGKILL");
    }
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});
