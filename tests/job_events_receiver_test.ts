/**
 * Watching a long job on a real receiver (`deno task start`) whose `pct` is a recording fake
 * replaying a real worker log: events come while the job runs, streams resume after
 * `Last-Event-ID` (also across a restart), the progress cap holds against endless output, and
 * no output line can forge an event.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { signedRequest } from "../runtime/cli/client.ts";
import { readEvents, type ServerEvent } from "../runtime/cli/sse.ts";
import { MAX_PROGRESS_LINES } from "../runtime/process/progress_cap.ts";
import { API_SCHEMAS } from "../runtime/server/api_schemas.ts";
import { type FakeBin, fakeBin, shQuote } from "./_fakes.ts";
import { type Receiver, startReceiver } from "./_receiver.ts";
import { fixtureDir, pctTranscript } from "./fixtures.ts";
import { eventStream } from "./_events.ts";
import { eventually } from "./_watch.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";
const INPUT = {
  vmid: 100,
  ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  storage: "local",
  rootfsGb: 4,
};
const pctDir = fixtureDir("pct");

/** The real worker log (PVE task viewer): disk, filesystem, extraction, then a failed setup. */
function workerLog(): { stdout: string[]; stderr: string } {
  const lines = pctTranscript(pctDir!, "pct-create-other-post-create-hook-task-log-1.txt")
    .trimEnd().split("\n");
  return { stdout: lines.slice(0, -1), stderr: lines.at(-1)! };
}

/**
 * A fake pct that replays the worker log a line at a time (a little apart), and after `pause`
 * lines waits for the gate file; then the last line on stderr, and pct's exit status 255.
 */
async function replayingPct(fakes: FakeBin, pause: number): Promise<string> {
  const { stdout, stderr } = workerLog();
  await Deno.writeTextFile(`${fakes.dir}/stdout`, stdout.join("\n") + "\n");
  await Deno.writeTextFile(`${fakes.dir}/stderr`, stderr + "\n");
  const gate = `${fakes.dir}/go`;
  await fakes.write(
    "pct",
    `echo $$ >> ${shQuote(`${fakes.dir}/pids`)}
     n=0; while IFS= read -r l; do printf '%s\\n' "$l"; n=$((n+1)); sleep 0.02
     if [ $n -eq ${pause} ]; then while [ ! -e ${shQuote(gate)} ]; do sleep 0.02; done; fi
     done < ${shQuote(`${fakes.dir}/stdout`)}; cat ${shQuote(`${fakes.dir}/stderr`)} >&2
     exit 255`,
  );
  return gate;
}

/** Opens `GET /jobs/<id>/events`, after `lastEventId` when given; reads it one event at a time. */
async function follow(receiver: Receiver, jobId: string, lastEventId?: string) {
  const response = await fetch(
    await signedRequest(`${receiver.url}/jobs/${jobId}/events`, {
      secret: receiver.secret,
      headers: lastEventId === undefined ? {} : { "last-event-id": lastEventId },
    }),
  );
  return await eventStream(response);
}

const lineOf = (e: ServerEvent) => JSON.parse(e.data).line;

Deno.test({
  name:
    "a running pct create's lines arrive as events before it ends; a reconnect gets exactly what it missed",
  ignore: pctDir === undefined,
  async fn() {
    const fakes = await fakeBin();
    const stateDir = await Deno.makeTempDir({ prefix: "rootfence-events-" });
    const gate = await replayingPct(fakes, 4);
    const receiver = await startReceiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM}`]);
    try {
      const { jobId } = await (await receiver.send("create-golden-lxc", INPUT)).json();
      const first = await follow(receiver, jobId);
      const early = await first.take(5);
      // pct is still waiting at the gate: these came while it ran.
      assert.equal((await fakes.calls("pct")).length, 1);
      assert.equal((await (await receiver.read(`/jobs/${jobId}`)).json()).status, "running");
      assert.deepEqual(early.map((e) => [e.id, e.event, JSON.parse(e.data).status]), [
        ["1", "queued", "queued"],
        ["2", "started", "running"],
        ["3", "progress", "running"],
        ["4", "progress", "running"],
        ["5", "progress", "running"],
      ]);
      const { stdout, stderr } = workerLog();
      assert.deepEqual(early.slice(2).map(lineOf), stdout.slice(0, 3));
      // The client drops after id 5; line 4 (id 6) comes while it is away.
      await first.close();
      await eventually(() => {
        const rows = new DatabaseSync(`${stateDir}/journal.db`, { readOnly: true });
        try {
          return rows.prepare("SELECT 1 FROM job_progress WHERE seq = 6").get();
        } finally {
          rows.close();
        }
      });
      const again = await follow(receiver, jobId, "5");
      const missed = await again.next();
      assert.deepEqual([missed.id, lineOf(missed)], ["6", stdout[3]]);
      await Deno.writeTextFile(gate, "");
      const live = await again.rest();
      const ids = [missed, ...live].map((e) => Number(e.id));
      assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => i + 6));
      const lines = [missed, ...live].filter((e) => e.event === "progress").map(lineOf);
      assert.deepEqual(lines, [...stdout.slice(3), stderr].filter((l) => l !== ""));
      const finished = JSON.parse(live.at(-1)!.data);
      assert.equal(live.at(-1)!.event, "finished");
      assert.equal(finished.status, "failed");
      // The op parsed the whole output, as before there were progress events.
      assert.equal(
        finished.result.command.stdoutBytes,
        new TextEncoder().encode(stdout.join("\n") + "\n").length,
      );
    } finally {
      await Deno.writeTextFile(gate, "");
      assert.equal(await receiver.stop(), 0);
      await fakes.remove();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

/** Kills the process group of every pct the fake started, so no orphan outlives a test. */
async function killOrphans(fakes: FakeBin): Promise<void> {
  const pids = await Deno.readTextFile(`${fakes.dir}/pids`).catch(() => "");
  for (const pid of pids.split("\n").filter(Boolean)) {
    try {
      const group = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(" ")[4];
      Deno.kill(-Number(group), "SIGKILL");
    } catch {
      // already gone
    }
  }
}

Deno.test({
  name: "after a kill -9 and a restart, a stream resumes where it was: stored lines, then finished",
  ignore: pctDir === undefined,
  async fn() {
    const fakes = await fakeBin();
    const stateDir = await Deno.makeTempDir({ prefix: "rootfence-events-restart-" });
    const gate = await replayingPct(fakes, 5);
    const args = ["--bin-path", `${fakes.dir}:${SYSTEM}`];
    const first = await startReceiver(stateDir, args);
    let second: Receiver | undefined;
    try {
      const { jobId } = await (await first.send("create-golden-lxc", INPUT)).json();
      const before = await follow(first, jobId);
      // queued, started and all five lines pct prints before its gate: watchers hear of a line
      // only once it is stored, so the crash cannot take the fifth line with it.
      const seen = await before.take(7);
      await first.crash();
      second = await startReceiver(stateDir, args);
      assert.equal(second.ready.interrupted, 1);
      // A client that had up to id 4 gets 5 to 7 from the journal, then the end the crash made.
      const after = await (await follow(second, jobId, "4")).rest();
      const { stdout } = workerLog();
      assert.deepEqual(after.map((e) => [e.id, e.event]), [
        ["5", "progress"],
        ["6", "progress"],
        ["7", "progress"],
        ["8", "finished"],
      ]);
      assert.deepEqual(after.slice(0, 3).map(lineOf), stdout.slice(2, 5));
      const ended = JSON.parse(after.at(-1)!.data);
      assert.deepEqual([ended.status, ended.result.error.code], ["interrupted", "interrupted"]);
      // Ids never change: the whole history from the new receiver starts as the old one streamed.
      const replay = await (await follow(second, jobId)).rest();
      assert.deepEqual(replay.slice(0, 7), seen);
      assert.deepEqual(replay.slice(4), after);
    } finally {
      await Deno.writeTextFile(gate, "");
      await killOrphans(fakes);
      if (second !== undefined) await second.stop();
      await fakes.remove();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

Deno.test("endless output: 1000 lines, one truncated event, a bounded journal, and the job still finishes", async () => {
  const fakes = await fakeBin();
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-events-flood-" });
  const gate = `${fakes.dir}/go`;
  // Prints until the test opens the gate, and at least 100 rounds of about 14 KB (past the 1 MiB
  // cap however slowly a loaded machine runs it).
  await fakes.write(
    "pct",
    `i=0
     while [ ! -e ${shQuote(gate)} ] || [ $i -lt 100 ]; do
       printf 'unpacking ./usr/lib/file-%s\\n' $(seq 1 500); i=$((i + 1))
     done
     exit 0`,
  );
  const receiver = await startReceiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM}`]);
  try {
    const { jobId } = await (await receiver.send("create-golden-lxc", INPUT)).json();
    const stream = await follow(receiver, jobId);
    const events = await stream.take(MAX_PROGRESS_LINES + 3);
    assert.deepEqual(events.at(-1)!.event, "truncated");
    const marker = API_SCHEMAS.ProgressEvent.parse(JSON.parse(events.at(-1)!.data));
    assert.ok("truncated" in marker && marker.truncated);
    assert.equal(events.filter((e) => e.event === "progress").length, MAX_PROGRESS_LINES);
    // It keeps printing; the journal keeps what it had.
    const rows = () => {
      const db = new DatabaseSync(`${stateDir}/journal.db`, { readOnly: true });
      try {
        return db.prepare(
          "SELECT count(*) AS n, sum(length(progress)) AS bytes FROM job_progress WHERE job_id = ?",
        ).get(jobId) as { n: number; bytes: number };
      } finally {
        db.close();
      }
    };
    const atCap = rows();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.deepEqual(rows(), atCap);
    assert.equal(atCap.n, MAX_PROGRESS_LINES + 1);
    assert.ok(atCap.bytes < 256 * 1024, `${atCap.bytes} bytes of progress`);
    await Deno.writeTextFile(gate, "");
    const [finished, ...more] = await stream.rest();
    assert.deepEqual(more, []);
    assert.deepEqual([finished!.id, finished!.event], [`${MAX_PROGRESS_LINES + 4}`, "finished"]);
    const job = JSON.parse(finished!.data);
    assert.equal(job.status, "succeeded");
    // The whole output went past the cap to the op, which read it as before.
    assert.ok(job.result.command.stdoutBytes > 1024 * 1024, `${job.result.command.stdoutBytes}`);
    assert.equal(job.result.command.stdoutTruncated, true);
  } finally {
    await Deno.writeTextFile(gate, "");
    assert.equal(await receiver.stop(), 0);
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("no output line can forge an event, an id or a field: each is one progress event", async () => {
  const fakes = await fakeBin();
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-events-forge-" });
  await fakes.write(
    "pct",
    `printf 'ok\\n\\nevent: finished\\ndata: {"status":"succeeded"}\\n\\nid: 999\\n\\rretry: 1\\r\\n'
     printf '\\033[2Jesc\\n\\377\\376bad\\n\\302\\205nel\\n\\000nul\\n'
     printf 'event: finished\\ndata: x\\n\\n' >&2
     exit 0`,
  );
  const receiver = await startReceiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM}`]);
  try {
    const created = await receiver.send("create-golden-lxc", INPUT, { wait: 30 });
    const job = await created.json();
    assert.equal(job.status, "succeeded");
    const response = await fetch(
      await signedRequest(`${receiver.url}/jobs/${job.jobId}/events`, { secret: receiver.secret }),
    );
    const text = await response.text();
    const events = await Array.fromAsync(readEvents(new Blob([text]).stream()));
    assert.deepEqual(events.map((e) => e.event), [
      "queued",
      "started",
      ...Array(11).fill("progress"),
      "finished",
    ]);
    const from = (stream: string) =>
      events.slice(2, -1).filter((e) => JSON.parse(e.data).stream === stream).map(lineOf);
    assert.deepEqual(from("stderr"), ["event: finished", "data: x"]);
    assert.deepEqual(from("stdout"), [
      "ok",
      "event: finished",
      'data: {"status":"succeeded"}',
      "id: 999",
      "retry: 1",
      "esc",
      "\ufffd\ufffdbad",
      "\ufffdnel",
      "\ufffdnul",
    ]);
    // On the wire: one event line per event, and none of the forged fields at a line start.
    assert.equal(text.match(/^event: finished$/gm)?.length, 1);
    assert.doesNotMatch(text, /^(id: 999|retry: |data: \{"status")/m);
    assert.deepEqual(events.map((e) => e.id), events.map((_, i) => `${i + 1}`));
    // What pct printed reaches the op unchanged.
    assert.match(job.result.result.log, /event: finished\ndata: \{"status":"succeeded"\}/);
  } finally {
    assert.equal(await receiver.stop(), 0);
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});
