/**
 * `deno task send jobs`, `send job <id>` and `send follow <id>` against a real receiver, run as a
 * user runs them: the signed reads no one has to sign by hand.
 */
import assert from "node:assert/strict";
import { OPS } from "../ops/mod.ts";
import { newSecret } from "../runtime/signing.ts";
import { fakeBin, shQuote } from "./_fakes.ts";
import { startRelay } from "./_relay.ts";
import { startReceiver } from "./_receiver.ts";
import { eventually } from "./_watch.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";

/** Runs `deno task send ...`; `lines` sees each stdout line as it comes. */
async function send(args: string[], lines: (line: string) => void = () => {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "send", ...args],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const err = new Response(child.stderr).text();
  let out = "";
  let partial = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    out += chunk;
    const complete = (partial + chunk).split("\n");
    partial = complete.pop()!;
    complete.forEach(lines);
  }
  return { code: (await child.status).code, out, err: (await err).trim() };
}

Deno.test("no op takes the name of a send command", () => {
  for (const name of ["jobs", "job", "follow"]) {
    assert.equal(OPS.some((op) => op.name === name), false, name);
  }
});

Deno.test("send jobs lists, send job shows and send follow streams a job to its end, exit from its status", async () => {
  const fakes = await fakeBin();
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-send-reads-" });
  const go = `${fakes.dir}/go`;
  // lm-sensors prints {} and exits 1 on a host without sensors: a success. Waits for `go`.
  await fakes.write(
    "sensors",
    `while [ ! -e ${shQuote(go)} ]; do sleep 0.05; done; printf '{}'; exit 1`,
  );
  const receiver = await startReceiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM}`]);
  const connection = ["--url", receiver.url, "--key-file", `${stateDir}/keys.json`];
  const fresh = { headers: { "cache-control": "no-cache" } };
  try {
    const running = (await (await receiver.send("sensors", {}, fresh)).json()).jobId;
    await eventually(async () => (await fakes.calls("sensors")).length === 1 || undefined);

    const shown = await send(["job", running, ...connection]);
    assert.equal(shown.code, 0, shown.err);
    assert.equal(JSON.parse(shown.out).status, "running");

    // The job finishes only once follow has printed that it started: follow streams it live.
    const followed = await send(["follow", running, ...connection], (line) => {
      if (JSON.parse(line).event === "started") Deno.writeTextFileSync(go, "");
    });
    assert.equal(followed.code, 0, followed.err);
    const events = followed.out.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(events.map((e) => e.event), ["queued", "started", "finished"]);
    assert.equal(events.at(-1).job.status, "succeeded");
    assert.equal(events.at(-1).job.jobId, running);

    // The next run fails: follow and job exit 1, from the job's final status.
    await fakes.write("sensors", `printf 'not json'; exit 2`);
    const failed = await (await receiver.send("sensors", {}, { ...fresh, wait: 20 })).json();
    assert.equal(failed.status, "failed");
    const replay = await send(["follow", failed.jobId, ...connection]);
    assert.equal(replay.code, 1, replay.err);
    assert.equal(JSON.parse(replay.out.trim().split("\n").at(-1)!).job.status, "failed");
    assert.equal((await send(["job", failed.jobId, ...connection])).code, 1);
    // send <op> --events follows its own job the same way.
    const triggered = await send(["sensors", "--events", ...connection]);
    assert.equal(triggered.code, 1, triggered.err);
    const last = JSON.parse(triggered.out.trim().split("\n").at(-1)!);
    assert.deepEqual([last.event, last.job.status], ["finished", "failed"]);
    const triggeredId = last.job.jobId;

    const all = await send(["jobs", ...connection]);
    assert.equal(all.code, 0, all.err);
    assert.deepEqual(JSON.parse(all.out).jobs.map((j: { jobId: string }) => j.jobId), [
      triggeredId,
      failed.jobId,
      running,
    ]);
    const filtered: [string[], string[]][] = [
      [["--status", "failed"], [triggeredId, failed.jobId]],
      [["--status", "succeeded", "--op", "sensors"], [running]],
      [["--limit", "1"], [triggeredId]],
      [["--op", "smart"], []],
    ];
    for (const [filter, ids] of filtered) {
      const listed = await send(["jobs", ...filter, ...connection]);
      assert.equal(listed.code, 0, listed.err);
      assert.deepEqual(JSON.parse(listed.out).jobs.map((j: { jobId: string }) => j.jobId), ids);
    }

    // What the receiver refuses is one line on stderr, exit 2; nothing on stdout.
    const missing = await send(["job", crypto.randomUUID(), ...connection]);
    assert.equal(missing.code, 2);
    assert.equal(missing.out, "");
    assert.match(
      missing.err,
      /^rootfence: Cannot get job "[0-9a-f-]{36}": No such job for this key \(404 job_not_found\)$/,
    );
    const stranger = `${stateDir}/stranger`;
    await Deno.writeTextFile(stranger, newSecret());
    const refused = await send(["jobs", "--url", receiver.url, "--key-file", stranger]);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /^rootfence: Cannot list jobs: .*\(401 signature_invalid\)$/);
  } finally {
    assert.equal(await receiver.stop(), 0);
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("send jobs, job and follow refuse a bad command line in one line, exit 2, before any request", async () => {
  const cases: [string[], RegExp][] = [
    [["job"], /^Cannot get a job: give one job id/],
    [["follow", "a", "b"], /^Cannot follow a job: give one job id/],
    [["job", "../hooks/sensors"], /^Cannot get a job: "\.\.\/hooks\/sensors" is not a job id/],
    [["jobs", "--status", "done"], /^Cannot list jobs with status "done": use one of queued, /],
    [["jobs", "--op", "reboot"], /^Cannot list jobs of op "reboot": no such op/],
    [["jobs", "--limit", "501"], /^Cannot use --limit "501": give 1\.\.500$/],
    [["jobs", "extra"], /Unexpected argument 'extra'/],
    [["follow", crypto.randomUUID(), "--after", "01"], /^Cannot use --after "01": give an event/],
    [["follow", crypto.randomUUID(), "--reconnect", "1h"], /^Cannot use --reconnect "1h": give /],
    [["sensors", "--events", "--reconnect", "99999"], /^Cannot use --reconnect "99999": give /],
  ];
  for (const [args, message] of cases) {
    // An unreachable --url: a request would be exit 3, so exit 2 proves none was made.
    const run = await send([...args, "--url", "http://127.0.0.1:9", "--key-file", "/nonexistent"]);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.err}`);
    const lines = run.err.split("\n");
    assert.equal(lines.length, 2, run.err);
    assert.match(lines[0]!, message);
  }
});

Deno.test("send follow is exit 3, in one line, when the stream ends before the job does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-send-follow-" });
  const jobId = crypto.randomUUID();
  // A receiver that stops mid-stream: the job is running when the stream ends.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    const job = { jobId, status: "running" };
    const body = `event: queued\ndata: ${JSON.stringify(job)}\n\n` +
      `event: started\ndata: ${JSON.stringify(job)}\n\n`;
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  try {
    await Deno.writeTextFile(`${dir}/secret`, newSecret());
    const url = `http://127.0.0.1:${server.addr.port}`;
    const run = await send(["follow", jobId, "--url", url, "--key-file", `${dir}/secret`]);
    assert.equal(run.code, 3);
    assert.equal(run.out.trim().split("\n").length, 2);
    assert.match(
      run.err,
      /^rootfence: Cannot follow job ".*" to its end: the receiver ended the stream while the job was running; follow it again once the receiver is back$/,
    );
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("send follow resumes after a dropped connection: every event once, in order, progress lines included", async () => {
  const fakes = await fakeBin();
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-send-resume-" });
  const gate = `${fakes.dir}/go`;
  // pct create's worker output, a line at a time; after two lines it waits for the test.
  const lines = ["Formatting '/var/lib/vz/images/100/vm-100-disk-0.raw'", "Creating filesystem"]
    .concat(["extracting archive", "Total bytes read: 343398400", "Detected architecture: amd64"]);
  await Deno.writeTextFile(`${fakes.dir}/lines`, lines.join("\n") + "\n");
  await fakes.write(
    "pct",
    `n=0; while IFS= read -r l; do printf '%s\\n' "$l"; n=$((n+1)); sleep 0.05
     if [ $n -eq 2 ]; then while [ ! -e ${shQuote(gate)} ]; do sleep 0.02; done; fi
     done < ${shQuote(`${fakes.dir}/lines`)}; exit 0`,
  );
  const receiver = await startReceiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM}`]);
  const relay = startRelay(receiver.url);
  try {
    const input = {
      vmid: 100,
      ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
      storage: "local",
      rootfsGb: 4,
    };
    const { jobId } = await (await receiver.send("create-golden-lxc", input)).json();
    let dropped = false;
    const followed = await send(
      ["follow", jobId, "--url", relay.url, "--key-file", `${stateDir}/keys.json`],
      (line) => {
        // At the second line the connection breaks, and pct goes on while follow is away.
        if (!dropped && JSON.parse(line).id === 4) {
          dropped = true;
          relay.drop();
          Deno.writeTextFileSync(gate, "");
        }
      },
    );
    assert.equal(followed.code, 0, followed.err);
    assert.ok(dropped);
    const events = followed.out.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(events.map((e) => e.id), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(events.map((e) => e.event), [
      "queued",
      "started",
      ...lines.map(() => "progress"),
      "finished",
    ]);
    assert.deepEqual(events.slice(2, -1).map((e) => e.progress.line), lines);
    assert.equal(events.at(-1).job.status, "succeeded");
    assert.match(
      followed.err,
      /^rootfence: the stream of job ".*" dropped while it was running; resuming after event 4 in 0\.5 s$/m,
    );
  } finally {
    await Deno.writeTextFile(gate, "");
    await relay.close();
    assert.equal(await receiver.stop(), 0);
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});
