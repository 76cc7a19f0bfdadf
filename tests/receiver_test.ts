/**
 * The receiver as a real process on loopback, with the real fenced launcher and recording
 * fakes: exactly-once runs, crash recovery, the queue bound and its own fence.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type FakeBin, fakeBin, shQuote } from "./_fakes.ts";
import { startReceiver } from "./_receiver.ts";
import { eventually } from "./_watch.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";

async function setup(): Promise<{ fakes: FakeBin; stateDir: string; binPath: string[] }> {
  const fakes = await fakeBin();
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-receiver-" });
  return { fakes, stateDir, binPath: ["--bin-path", `${fakes.dir}:${SYSTEM}`] };
}

Deno.test("a signed request runs the right argv exactly once, through the fenced launcher", async () => {
  const { fakes, stateDir, binPath } = await setup();
  const smartctl = await fakes.write(
    "smartctl",
    `printf '{"smartctl":{"exit_status":0},"smart_status":{"passed":true}}'`,
  );
  const receiver = await startReceiver(stateDir, binPath);
  try {
    const response = await receiver.send("smart", { device: "/dev/sdb", deviceType: "sat" }, {
      wait: 20,
    });
    assert.equal(response.status, 200, await response.clone().text());
    const job = await response.json();
    assert.equal(job.status, "succeeded");
    assert.equal(job.result.result.health, "ok");
    const calls = await fakes.calls("smartctl");
    assert.deepEqual(calls.map((c) => c.argv), [[smartctl, "-a", "-j", "-d", "sat", "/dev/sdb"]]);
    const read = await receiver.read(`/jobs/${job.jobId}`);
    assert.equal((await read.json()).status, "succeeded");
  } finally {
    assert.equal(await receiver.stop(), 0);
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("50 concurrent deliveries of one webhook-id run the op once", async () => {
  const { fakes, stateDir, binPath } = await setup();
  await fakes.write("sensors", `sleep 0.3; printf '{}'; exit 1`);
  const receiver = await startReceiver(stateDir, binPath);
  try {
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => receiver.send("sensors", {}, { id: "msg_once" })),
    );
    const ids = new Set<string>();
    for (const r of responses) {
      assert.ok(r.status === 200 || r.status === 202, String(r.status));
      ids.add((await r.json()).jobId);
    }
    assert.equal(ids.size, 1);
    const [jobId] = ids;
    await eventually(async () => {
      const job = await (await receiver.read(`/jobs/${jobId}`)).json();
      return job.status === "succeeded" ? job : undefined;
    });
    assert.equal((await fakes.calls("sensors")).length, 1);
  } finally {
    await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("kill -9 mid-job: after a restart the job is interrupted, queued jobs run, no record is lost", async () => {
  const { fakes, stateDir, binPath } = await setup();
  const pids = `${fakes.dir}/pids`;
  // The first smartctl call hangs (its device is "stuck"); later calls answer at once.
  await fakes.write(
    "smartctl",
    `case "$*" in *sda*) echo $$ >> ${shQuote(pids)}; sleep 60;; esac
printf '{"smartctl":{"exit_status":0},"smart_status":{"passed":true}}'`,
  );
  const first = await startReceiver(stateDir, [...binPath, "--max-running", "1"]);
  let stuck: string | undefined;
  try {
    stuck = (await (await first.send("smart", { device: "/dev/sda" })).json()).jobId;
    const queued = (await (await first.send("smart", { device: "/dev/sdb" })).json()).jobId;
    await eventually(async () => (await Deno.readTextFile(pids).catch(() => "")) || undefined);
    await first.crash();
    const second = await startReceiver(stateDir, [...binPath, "--max-running", "1"]);
    try {
      assert.equal(second.ready.interrupted, 1);
      assert.equal(second.ready.requeued, 1);
      const lost = await (await second.read(`/jobs/${stuck}`)).json();
      assert.equal(lost.status, "interrupted");
      assert.equal(lost.result.error.code, "interrupted");
      const ran = await eventually(async () => {
        const job = await (await second.read(`/jobs/${queued}`)).json();
        return job.status === "succeeded" ? job : undefined;
      });
      assert.deepEqual(ran.input, { device: "/dev/sdb" });
      const all = await (await second.read("/jobs")).json();
      assert.equal(all.jobs.length, 2);
      const calls = (await fakes.calls("smartctl")).map((c) => c.argv.at(-1));
      assert.deepEqual(calls, ["/dev/sda", "/dev/sdb"], "the interrupted job never re-ran");
    } finally {
      await second.stop();
    }
  } finally {
    // The orphaned fake from the crashed receiver: end it so nothing outlives the test.
    for (const pid of (await Deno.readTextFile(pids).catch(() => "")).split("\n").filter(Boolean)) {
      try {
        Deno.kill(
          -Number(await Deno.readTextFile(`/proc/${pid}/stat`).then((s) => s.split(" ")[4])),
          "SIGKILL",
        );
      } catch {
        // already gone
      }
    }
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("the queue bound answers 429 and never drops an accepted job", async () => {
  const { fakes, stateDir, binPath } = await setup();
  // Every run waits for the gate, so the first is still running however slow the machine.
  const gate = `${stateDir}/gate`;
  await fakes.write("sensors", `while [ ! -e ${gate} ]; do sleep 0.05; done; printf '{}'; exit 1`);
  const receiver = await startReceiver(stateDir, [
    ...binPath,
    "--max-running",
    "1",
    "--max-queued",
    "4",
  ]);
  try {
    // One key may hold half the queue: 1 running, 2 queued, then 429. (no-cache: identical
    // reads would otherwise share the queued run, see coalescing_test.ts.)
    const statuses: number[] = [];
    const accepted: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await receiver.send("sensors", {}, { headers: { "cache-control": "no-cache" } });
      statuses.push(r.status);
      const body = await r.json();
      if (r.status === 202) accepted.push(body.jobId);
      else {
        assert.equal(body.code, "queue_full");
        assert.equal(r.headers.get("retry-after"), "5");
      }
    }
    assert.deepEqual(statuses, [202, 202, 202, 429, 429, 429]);
    await Deno.writeTextFile(gate, "");
    for (const id of accepted) {
      await eventually(async () => {
        const job = await (await receiver.read(`/jobs/${id}`)).json();
        return job.status === "succeeded" ? job : undefined;
      });
    }
    assert.equal((await fakes.calls("sensors")).length, 3);
  } finally {
    await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("SIGTERM: new requests get 503, running jobs past the grace are killed and interrupted", async () => {
  const { fakes, stateDir, binPath } = await setup();
  await fakes.write("sensors", `sleep 60`);
  const receiver = await startReceiver(stateDir, [...binPath, "--grace", "1"]);
  const jobId = (await (await receiver.send("sensors", {})).json()).jobId;
  await eventually(async () => (await fakes.calls("sensors")).length === 1 || undefined);
  const stopped = receiver.stop();
  await new Promise((r) => setTimeout(r, 200));
  const refused = await receiver.send("sensors", {}).catch(() => undefined);
  if (refused) assert.equal(refused.status, 503);
  assert.equal(await stopped, 0);
  const again = await startReceiver(stateDir, binPath);
  try {
    const job = await (await again.read(`/jobs/${jobId}`)).json();
    assert.equal(job.status, "interrupted");
    assert.equal(job.result.error.code, "interrupted");
    assert.equal(again.ready.interrupted, 0);
  } finally {
    await again.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test({
  name: "the real Debian sensors and smartctl through the receiver, no fakes anywhere",
  ignore: (() => {
    for (const path of ["/usr/bin/sensors", "/usr/sbin/smartctl"]) {
      let installed = false;
      try {
        installed = Deno.statSync(path).isFile;
      } catch {
        // not there
      }
      if (!installed) {
        console.log(`skip: ${path} is not installed (apt-get install lm-sensors smartmontools)`);
        return true;
      }
    }
    return false;
  })(),
  async fn() {
    const stateDir = await Deno.makeTempDir({ prefix: "rootfence-receiver-real-" });
    const receiver = await startReceiver(stateDir);
    let stopped = false;
    try {
      const sensors = await (await receiver.send("sensors", {}, { wait: 20 })).json();
      assert.equal(sensors.status, "succeeded", JSON.stringify(sensors));
      assert.equal(sensors.result.argv[0], await Deno.realPath("/usr/bin/sensors"));
      assert.ok(Array.isArray(sensors.result.result.chips));
      // No disk /dev/sdzz exists: smartctl's own open failure, classified, as a failed job.
      const smart = await (await receiver.send("smart", { device: "/dev/sdzz" }, { wait: 20 }))
        .json();
      assert.equal(smart.status, "failed", JSON.stringify(smart));
      assert.equal(smart.result.error.code, "device_open_failed");
      assert.equal(smart.result.command.exitCode, 2);
      // Both reads were held while their clients waited, and are on record as they ended.
      await receiver.stop();
      stopped = true;
      const db = new DatabaseSync(`${stateDir}/journal.db`, { readOnly: true });
      const rows = db.prepare("SELECT id, status, pgid FROM jobs ORDER BY rowid").all();
      db.close();
      assert.deepEqual(rows.map((r) => [r.id, r.status, typeof r.pgid]), [
        [sensors.jobId, "succeeded", "number"],
        [smart.jobId, "failed", "number"],
      ]);
    } finally {
      if (!stopped) await receiver.stop();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

Deno.test("batched log lines: every request's and job's line, and the last, are out when it stops", async () => {
  const { fakes, stateDir, binPath } = await setup();
  await fakes.write("sensors", `printf '{}'; exit 1`);
  const receiver = await startReceiver(stateDir, binPath);
  let stopped = false;
  try {
    const jobs = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const response = await receiver.send("sensors", {}, {
          wait: 20,
          headers: { "cache-control": "no-cache" },
        });
        assert.equal(response.status, 200);
        return (await response.json()).jobId as string;
      }),
    );
    // At once, within the batching window: what waits must be written before the exit.
    assert.equal(await receiver.stop(), 0);
    stopped = true;
    const logged = await eventually(() => {
      const kinds = receiver.lines.map((l) => l.kind);
      return kinds.includes("stopped") ? receiver.lines : undefined;
    });
    for (const jobId of jobs) {
      const events = logged.filter((l) => l.kind === "job" && l.jobId === jobId).map((l) =>
        l.event
      );
      assert.deepEqual(events, ["queued", "started", "finished"], jobId);
      assert.equal(logged.filter((l) => l.kind === "request" && l.jobId === jobId).length, 1);
    }
  } finally {
    if (!stopped) await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});
