/**
 * A job's events as history, in-process (a real journal and scheduler, a recording runner):
 * every event has an id and the job's state at that moment, a stream resumes after
 * `Last-Event-ID` with no gap and no duplicate, and a replay equals what was streamed live.
 */
import assert from "node:assert/strict";
import type { ServerEvent } from "../runtime/cli/sse.ts";
import { API_SCHEMAS } from "../runtime/server/api_schemas.ts";
import { type Bench, bench, signedGet, signedPost } from "./_app.ts";
import { type EventStream, eventStream } from "./_events.ts";

const CREATE = JSON.stringify({
  vmid: 9000,
  ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  storage: "local-lvm",
  rootfsGb: 8,
});

/** A gate the test opens. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => open = resolve);
  return { open, opened };
}

/** Opens the events `request` answers on the test app. */
async function open(b: Bench, request: Promise<Request>): Promise<EventStream> {
  return await eventStream(await b.app.request(await request));
}

/** Every event `request` answers on the test app, until the stream ends. */
async function history(b: Bench, request: Promise<Request>): Promise<ServerEvent[]> {
  return await (await open(b, request)).rest();
}

function get(path: string, lastEventId?: string): Promise<Request> {
  return signedGet(path).then((request) => {
    if (lastEventId !== undefined) request.headers.set("last-event-id", lastEventId);
    return request;
  });
}

const shape = (e: ServerEvent) => [e.id, e.event, JSON.parse(e.data).status];

Deno.test("events carry an id and the state at that moment; live ones follow the history", async () => {
  const more = gate();
  const b = await bench({
    async progress(_job, send) {
      send({ stream: "stdout", line: "extracting archive" });
      send({ stream: "stderr", line: "Total bytes read: 343398400" });
      await more.opened;
      send({ stream: "stdout", line: "Detected container architecture: amd64" });
    },
  });
  try {
    const { jobId } = await (await b.app.request(await signedPost("create-golden-lxc", CREATE)))
      .json();
    const stream = await open(b, get(`/jobs/${jobId}/events`));
    const seen = [
      await stream.next(),
      await stream.next(),
      await stream.next(),
      await stream.next(),
    ];
    assert.deepEqual(seen.map(shape), [
      ["1", "queued", "queued"],
      ["2", "started", "running"],
      ["3", "progress", "running"],
      ["4", "progress", "running"],
    ]);
    // The state at that moment: accepted, not started; then started, no result yet.
    const queued = JSON.parse(seen[0]!.data);
    assert.deepEqual([queued.startedAt, queued.finishedAt, queued.result], [null, null, null]);
    assert.equal(JSON.parse(seen[1]!.data).result, null);
    assert.deepEqual(JSON.parse(seen[3]!.data), {
      jobId,
      status: "running",
      at: JSON.parse(seen[3]!.data).at,
      stream: "stderr",
      line: "Total bytes read: 343398400",
    });
    more.open();
    const rest = await stream.rest();
    assert.deepEqual(rest.map(shape), [["5", "progress", "running"], [
      "6",
      "finished",
      "succeeded",
    ]]);

    // A replay of the finished job is the same events, byte for byte.
    const replay = await history(b, get(`/jobs/${jobId}/events`));
    assert.deepEqual(replay, [...seen, ...rest]);
    // Each event's data is what the OpenAPI document says it is.
    for (const event of replay) {
      const schema = event.event === "progress" ? API_SCHEMAS.ProgressEvent : API_SCHEMAS.Job;
      schema.parse(JSON.parse(event.data));
    }
    // Lines are events, not log lines: the log has the three transitions only.
    const logged = b.logs.filter((l) => l.kind === "job" && l.jobId === jobId).map((l) => l.event);
    assert.deepEqual(logged, ["queued", "started", "finished"]);
  } finally {
    more.open();
    await b.close();
  }
});

Deno.test("Last-Event-ID resumes after that event: exactly the missed ones, then live ones", async () => {
  const more = gate();
  const b = await bench({
    async progress(_job, send) {
      for (const line of ["one", "two", "three"]) send({ stream: "stdout", line });
      await more.opened;
      send({ stream: "stdout", line: "four" });
    },
  });
  try {
    const { jobId } = await (await b.app.request(await signedPost("create-golden-lxc", CREATE)))
      .json();
    const path = `/jobs/${jobId}/events`;
    const first = await open(b, get(path));
    for (let i = 0; i < 5; i++) await first.next();
    await first.close();
    // The client had up to id 3 ("one"): it missed 4 and 5, and 6 and 7 are still to come.
    const resumed = await open(b, get(path, "3"));
    const missed = [await resumed.next(), await resumed.next()];
    assert.deepEqual(missed.map((e) => [e.id, JSON.parse(e.data).line]), [["4", "two"], [
      "5",
      "three",
    ]]);
    more.open();
    const live = await resumed.rest();
    assert.deepEqual(live.map((e) => [e.id, e.event]), [["6", "progress"], ["7", "finished"]]);
    // Past the last event of a finished job there is nothing more: the stream just ends.
    assert.deepEqual(
      await history(b, get(path, "7")),
      [],
    );
    const whole = await history(b, get(path, "0"));
    assert.deepEqual(whole.map((e) => e.id), ["1", "2", "3", "4", "5", "6", "7"]);
  } finally {
    more.open();
    await b.close();
  }
});

/** A finished create whose run printed one line: events 1 to 4 (queued, started, it, finished). */
async function oneLineJob() {
  const b = await bench({
    progress(_job, send) {
      send({ stream: "stdout", line: "one" });
      return Promise.resolve();
    },
  });
  const { jobId } = await (await b.app.request(
    await signedPost("create-golden-lxc", CREATE, { headers: { prefer: "wait=5" } }),
  )).json();
  return { b, jobId: jobId as string };
}

Deno.test("a Last-Event-ID this job never gave is 400 bad_event_id, before any stream opens", async () => {
  const { b, jobId } = await oneLineJob();
  try {
    // Its events are 1..4 (queued, started, one line, finished).
    for (const bad of ["5", "abc", "-1", "01", "1.5", "+2", "1e3", "4294967296000", "", "³"]) {
      const response = await b.app.request(await get(`/jobs/${jobId}/events`, bad));
      assert.equal(response.status, 400, `"${bad}"`);
      const problem = await response.json();
      assert.equal(problem.code, "bad_event_id", `"${bad}"`);
      assert.match(problem.detail, /give one of 0\.\.4, or none for all/);
    }
    const last = await history(b, get(`/jobs/${jobId}/events`, "3"));
    assert.deepEqual(last.map((e) => [e.id, e.event]), [["4", "finished"]]);
  } finally {
    await b.close();
  }
});

Deno.test("a job without progress has the three events it always had, ids 1 to 3", async () => {
  const b = await bench();
  try {
    const { jobId } = await (await b.app.request(
      await signedPost("sensors", "{}", { headers: { prefer: "wait=5" } }),
    )).json();
    const all = await history(b, get(`/jobs/${jobId}/events`));
    assert.deepEqual(all.map(shape), [
      ["1", "queued", "queued"],
      ["2", "started", "running"],
      ["3", "finished", "succeeded"],
    ]);
  } finally {
    await b.close();
  }
});

Deno.test("a stream that catches up over many pages, or opens while queued, misses and repeats nothing", async () => {
  const more = gate();
  const b = await bench({
    maxRunning: 1,
    async progress(job, send) {
      // The first job streams 250 lines and waits; the second, queued behind it, streams one.
      if ((job.input as { vmid: number }).vmid !== 9000) {
        return send({ stream: "stdout", line: "second" });
      }
      for (let i = 0; i < 250; i++) send({ stream: "stdout", line: `line ${i}` });
      await more.opened;
      send({ stream: "stdout", line: "last" });
    },
  });
  try {
    const post = async (body: string) =>
      await b.app.request(await signedPost("create-golden-lxc", body));
    const { jobId } = await (await post(CREATE)).json();
    const queuedId = (await (await post(CREATE.replace("9000", "9001"))).json()).jobId;
    const queued = await open(b, get(`/jobs/${queuedId}/events`));
    assert.deepEqual(shape(await queued.next()), ["1", "queued", "queued"]);
    // Let the 250 lines reach the journal (they are stored in batches).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const whole = await open(b, get(`/jobs/${jobId}/events`));
    const caught: ServerEvent[] = [];
    for (let i = 0; i < 252; i++) caught.push(await whole.next());
    const resumed = await open(b, get(`/jobs/${jobId}/events`, "150"));
    const fromMiddle: ServerEvent[] = [];
    for (let i = 0; i < 102; i++) fromMiddle.push(await resumed.next());
    more.open();
    const rest = await whole.rest();
    const ids = [...caught, ...rest].map((e) => Number(e.id));
    assert.deepEqual(ids, Array.from({ length: 254 }, (_, i) => i + 1));
    assert.deepEqual([...fromMiddle, ...await resumed.rest()], [...caught, ...rest].slice(150));
    assert.deepEqual((await queued.rest()).map(shape), [
      ["2", "started", "running"],
      ["3", "progress", "running"],
      ["4", "finished", "succeeded"],
    ]);
  } finally {
    more.open();
    await b.close();
  }
});

Deno.test("a stream whose history cannot be read ends early and says why; a resume goes on from there", async () => {
  const { b, jobId } = await oneLineJob();
  try {
    const read = b.journal.progressAfter.bind(b.journal);
    b.journal.progressAfter = () => {
      throw Object.assign(new Error("disk I/O error"), { code: "ERR_SQLITE_ERROR" });
    };
    const broken = await history(b, get(`/jobs/${jobId}/events`));
    assert.deepEqual(broken.map((e) => e.id), ["1", "2"]);
    const failed = b.logs.find((l) => l.kind === "stream_failed");
    assert.deepEqual([failed?.jobId, failed?.sent], [jobId, 2]);
    assert.match(String(failed?.message), /disk I\/O error/);
    b.journal.progressAfter = read;
    const resumed = await history(b, get(`/jobs/${jobId}/events`, "2"));
    assert.deepEqual(resumed.map((e) => [e.id, e.event]), [["3", "progress"], ["4", "finished"]]);
  } finally {
    await b.close();
  }
});

Deno.test("lines the journal cannot take are dropped and logged, never told; the ids stay whole", async () => {
  const b = await bench({
    async progress(_job, send) {
      send({ stream: "stdout", line: "lost 1" });
      send({ stream: "stdout", line: "lost 2" });
      await new Promise((resolve) => setTimeout(resolve, 150));
      send({ stream: "stdout", line: "kept" });
    },
  });
  const add = b.journal.addProgress.bind(b.journal);
  let failures = 1;
  b.journal.addProgress = (jobId, rows) => {
    if (failures-- > 0) throw Object.assign(new Error("disk full"), { code: "ERR_SQLITE_ERROR" });
    add(jobId, rows);
  };
  try {
    const { jobId } = await (await b.app.request(await signedPost("create-golden-lxc", CREATE)))
      .json();
    const live = await history(b, get(`/jobs/${jobId}/events`));
    assert.deepEqual(live.map((e) => [e.id, e.event]), [
      ["1", "queued"],
      ["2", "started"],
      ["3", "progress"],
      ["4", "finished"],
    ]);
    assert.equal(JSON.parse(live[2]!.data).line, "kept");
    const replay = await history(b, get(`/jobs/${jobId}/events`));
    assert.deepEqual(replay, live);
    const logged = b.logs.find((l) => l.kind === "journal_error" && l.jobId === jobId);
    assert.equal(logged?.droppedProgress, 2);
  } finally {
    await b.close();
  }
});
