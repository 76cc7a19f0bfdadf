/**
 * A read whose client waits is held in memory and written once, at its end (one commit instead
 * of three). What a `kill -9` of the executor leaves of it: nothing before it has run a second
 * (nobody was answered, and a redelivery runs it), a running job with its process group after;
 * a read that takes a disk, a running job with its process group from the start.
 */
import assert from "node:assert/strict";
import { type FakeBin, fakeBin, shQuote } from "./_fakes.ts";
import { type Receiver, startReceiver } from "./_receiver.ts";
import { eventually } from "./_watch.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";

/** A fake sensors that logs each start, with its pid, then takes `seconds`. */
async function slowSensors(fakes: FakeBin, seconds: number): Promise<string> {
  const log = `${fakes.dir}/sensors.log`;
  await fakes.write(
    "sensors",
    [
      `echo "start $$" >> ${shQuote(log)}`,
      `sleep ${seconds}`,
      `printf '%s' ${shQuote('{"chip":{"Adapter":"x"}}')}`,
    ].join("\n"),
  );
  return log;
}

async function starts(log: string): Promise<string[]> {
  const text = await Deno.readTextFile(log).catch(() => "");
  return text.split("\n").filter((line) => line.startsWith("start "));
}

async function listed(receiver: Receiver): Promise<{ jobId: string; status: string }[]> {
  return (await (await receiver.read("/jobs?op=sensors")).json()).jobs;
}

/** A read to crash in the middle: its request, and its fake's starts so far. */
interface Read {
  readonly fakes: FakeBin;
  readonly op: string;
  readonly input: Record<string, unknown>;
  readonly id: string;
  started(): Promise<number>;
  /** Lets a fake that waits on the test end, before its directory goes. */
  release?(): Promise<void>;
}

/** A fake sensors that takes 3 s, as a read to crash. */
async function sensorsRead(): Promise<Read> {
  const fakes = await fakeBin();
  const log = await slowSensors(fakes, 3);
  const started = async () => (await starts(log)).length;
  return { fakes, op: "sensors", input: {}, id: "msg_held", started };
}

/**
 * Starts `read` through a receiver, `kill -9`s its executor `heldForMs` after the fake started,
 * and hands a receiver restarted on the same state to `check`.
 */
async function crashMidRead(
  read: Read,
  heldForMs: number,
  check: (restarted: Receiver) => Promise<void>,
): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-held-" });
  const args = ["--bin-path", `${read.fakes.dir}:${SYSTEM}`];
  let first: Receiver | undefined;
  let crashed = false;
  let second: Receiver | undefined;
  try {
    first = await startReceiver(stateDir, args);
    const answer = first.send(read.op, read.input, { id: read.id, wait: 30 })
      .catch(() => undefined);
    await eventually(async () => (await read.started()) === 1 || undefined);
    await new Promise((resolve) => setTimeout(resolve, heldForMs));
    await first.crash();
    crashed = true;
    await (await answer)?.body?.cancel();
    second = await startReceiver(stateDir, args);
    await check(second);
  } finally {
    await read.release?.();
    if (!crashed) await first?.stop();
    await second?.stop();
    await read.fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
}

Deno.test("kill -9 while a waited-for read is held: no job is left, and its redelivery runs it", async () => {
  const read = await sensorsRead();
  await crashMidRead(read, 100, async (restarted) => {
    assert.equal(restarted.ready.interrupted, 0);
    assert.deepEqual(await listed(restarted), []);
    const again = await restarted.send("sensors", {}, { id: "msg_held", wait: 30 });
    assert.equal(again.status, 200, await again.clone().text());
    assert.equal((await again.json()).status, "succeeded");
    assert.equal(await read.started(), 2);
  });
});

Deno.test("kill -9 once a waited-for read has run a second: it is on record with its process group", async () => {
  const read = await sensorsRead();
  await crashMidRead(read, 1500, async (restarted) => {
    assert.equal(restarted.ready.interrupted, 1);
    assert.equal(restarted.ready.orphans, 1);
    const [job] = await listed(restarted);
    assert.equal(job?.status, "interrupted");
    // The orphaned read ends on its own (3 s); the restarted executor watched its group go.
    const done = await eventually(async () => {
      const seen = await (await restarted.read(`/jobs/${job!.jobId}`)).json();
      return seen.result.error.processes === "gone" ? seen : undefined;
    });
    assert.equal(done.result.error.outcome, "unknown");
    // A redelivery is that job, not a second run.
    const again = await restarted.send("sensors", {}, { id: "msg_held", wait: 30 });
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.equal(await read.started(), 1);
  });
});

Deno.test("kill -9 in the first second of a held read of a disk: it is on record, and the disk stays taken until its process ends", async () => {
  const fakes = await fakeBin();
  // Each run notes its start, waits for the test to release it, then notes start and end (ns).
  const runs = `${fakes.dir}/runs`;
  const release = `${fakes.dir}/release`;
  await fakes.write(
    "smartctl",
    [
      "started=$(date +%s%N)",
      `echo "$started" >> ${shQuote(`${runs}.started`)}`,
      "i=0",
      `while [ ! -e ${shQuote(release)} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done`,
      `echo "$started $(date +%s%N)" >> ${shQuote(runs)}`,
      `printf '{"smartctl":{"exit_status":0},"smart_status":{"passed":true}}'`,
    ].join("\n"),
  );
  const started = async () =>
    (await Deno.readTextFile(`${runs}.started`).catch(() => "")).trim().split("\n")
      .filter(Boolean).length;
  const disk = { device: "/dev/sda" };
  const read = {
    fakes,
    op: "smart",
    input: disk,
    id: "msg_disk",
    started,
    release: () => Deno.writeTextFile(release, "").catch(() => undefined),
  };
  // Crashed once its child has taken the request and the fake waits: well inside the hold.
  await crashMidRead(read, 100, async (second) => {
    assert.equal(second.ready.interrupted, 1);
    assert.equal(second.ready.orphans, 1);
    // Another read of the same disk waits while the orphan runs, and starts once it is gone.
    const next = second.send("smart", disk, {
      id: "msg_next",
      wait: 30,
      headers: { "cache-control": "no-cache" },
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(await started(), 1, "a second read of the disk started beside the orphan");
    await read.release();
    const answered = await next;
    assert.equal(answered.status, 200, await answered.clone().text());
    assert.equal((await answered.json()).status, "succeeded");
    const [orphan, later] = (await Deno.readTextFile(runs)).trim().split("\n").map((line) =>
      line.split(" ").map(BigInt)
    );
    assert.ok(orphan && later, "two runs recorded");
    assert.ok(later[0]! >= orphan[1]!, "the next read started before the orphan ended");
    // A redelivery of the crashed read is that job, not a second run.
    const again = await second.send("smart", disk, { id: "msg_disk", wait: 30 });
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    await again.body?.cancel();
    assert.equal(await started(), 2);
  });
});
