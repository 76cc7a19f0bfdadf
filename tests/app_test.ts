import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { MAX_STREAMS_PER_KEY } from "../runtime/server/routes/jobs.ts";
import { AUTOMATION, bench, MONITORING, signedGet, signedPost } from "./_app.ts";
import { eventually } from "./_watch.ts";

async function problem(response: Response, status: number, code: string) {
  assert.equal(response.status, status, await response.clone().text());
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  const doc = await response.json();
  assert.equal(doc.code, code);
  assert.equal(doc.type, `urn:rootfence:problem:${code}`);
  assert.equal(doc.status, status);
  return doc;
}

Deno.test("POST /hooks/<op> answers 202 with a job id and a Location, then runs it once", async () => {
  const b = await bench();
  try {
    const response = await b.app.request(await signedPost("sensors", "{}"));
    assert.equal(response.status, 202);
    const { jobId, status } = await response.json();
    assert.ok(["queued", "running"].includes(status), status);
    assert.equal(response.headers.get("location"), `/jobs/${jobId}`);
    assert.equal((await b.scheduler.waitFor(jobId, 2000))?.status, "succeeded");
    assert.equal(b.runs.length, 1);
    assert.equal(b.journal.get(jobId)?.keyId, "automation");
  } finally {
    await b.close();
  }
});

Deno.test("Prefer: wait answers 200 with the finished job", async () => {
  const b = await bench();
  try {
    const response = await b.app.request(
      await signedPost("smart", '{"device":"/dev/sda"}', { headers: { prefer: "wait=5" } }),
    );
    assert.equal(response.status, 200);
    const job = await response.json();
    assert.equal(job.status, "succeeded");
    assert.deepEqual(job.input, { device: "/dev/sda" });
    assert.equal(response.headers.get("preference-applied"), "wait=5");
  } finally {
    await b.close();
  }
});

/** The jobs table as another connection sees it: what a restarted executor would find. */
function rowsOnDisk(dir: string): { id: string; status: string }[] {
  const db = new DatabaseSync(`${dir}/journal.db`, { readOnly: true });
  try {
    return db.prepare("SELECT id, status FROM jobs").all()
      .map((row) => ({ id: String(row.id), status: String(row.status) }));
  } finally {
    db.close();
  }
}

Deno.test("Prefer: wait answers 202 when the job is still running at the deadline, on record", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-app-" });
  const b = await bench({ hold: true, dir });
  try {
    const response = await b.app.request(
      await signedPost("sensors", "{}", { headers: { prefer: "wait=1" } }),
    );
    assert.equal(response.status, 202);
    const { jobId, status } = await response.json();
    assert.equal(status, "running");
    // The read was held while its client waited; the 202 names it, so it is written first.
    assert.deepEqual(rowsOnDisk(dir), [{ id: jobId, status: "running" }]);
  } finally {
    b.release();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a read whose client waits is written once, at its end; a mutating op's at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-app-" });
  const b = await bench({ hold: true, dir });
  try {
    const waiting = b.app.request(
      await signedPost("sensors", "{}", { headers: { prefer: "wait=5" } }),
    );
    const mount = b.app.request(
      await signedPost(
        "mount-usb",
        '{"uuid":"1298-0BD4","target":"/mnt/usb/cam","fsType":"vfat"}',
        {
          id: "msg_mount",
          headers: { prefer: "wait=5" },
        },
      ),
    );
    await eventually(() => Promise.resolve(b.runs.length === 2 || undefined));
    const mountJob = b.runs.find((job) => job.op === "mount-usb")!;
    assert.deepEqual(rowsOnDisk(dir), [{ id: mountJob.id, status: "running" }]);
    b.release();
    const job = await (await waiting).json();
    assert.equal(job.status, "succeeded");
    await (await mount).body?.cancel();
    assert.deepEqual(
      rowsOnDisk(dir).sort((x, y) => x.id.localeCompare(y.id)),
      [{ id: job.jobId, status: "succeeded" }, { id: mountJob.id, status: "succeeded" }]
        .sort((x, y) => x.id.localeCompare(y.id)),
    );
  } finally {
    b.release();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("401 for a missing, wrong or expired signature, never 200 or 500", async () => {
  const b = await bench();
  try {
    const unsigned = new Request("http://rootfence.test/hooks/sensors", {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    await problem(await b.app.request(unsigned), 401, "signature_missing");
    const wrong = await signedPost("sensors", "{}", { secret: "whsec_" + "A".repeat(43) + "=" });
    await problem(await b.app.request(wrong), 401, "signature_invalid");
    const old = await signedPost("sensors", "{}", {
      timestamp: Math.floor(Date.now() / 1000) - 301,
    });
    await problem(await b.app.request(old), 401, "signature_expired");
    const future = await signedPost("sensors", "{}", {
      timestamp: Math.floor(Date.now() / 1000) + 301,
    });
    await problem(await b.app.request(future), 401, "signature_expired");
    const signed = await signedPost("sensors", '{"a":1}');
    const changed = new Request(signed, { body: '{"a":2}' });
    await problem(await b.app.request(changed), 401, "signature_invalid");
    assert.equal(b.runs.length, 0);
  } finally {
    await b.close();
  }
});

Deno.test("403 when the key may not trigger the op; the monitoring key may read sensors", async () => {
  const b = await bench();
  try {
    const body = JSON.stringify({ uuid: "1298-0BD4", target: "/mnt/usb/cam", fsType: "vfat" });
    await problem(
      await b.app.request(await signedPost("mount-usb", body, { secret: MONITORING })),
      403,
      "op_not_allowed",
    );
    const ok = await b.app.request(await signedPost("sensors", "{}", { secret: MONITORING }));
    assert.equal(ok.status, 202);
  } finally {
    await b.close();
  }
});

Deno.test("a body handed beside the request is the one verified, validated and bounded", async () => {
  // The executor hands the app the body decoded from its bridge line (`AppBindings`). The
  // signature must cover exactly those bytes, not whatever the Request itself carries.
  const b = await bench();
  try {
    const handed = (body: string) => ({ body: new TextEncoder().encode(body) });
    const signed = await signedPost("smart", '{"device":"/dev/sda"}');
    const swapped = await b.app.request(signed.clone(), undefined, handed('{"device":"/dev/sdb"}'));
    await problem(swapped, 401, "signature_invalid");
    const same = await b.app.request(signed.clone(), undefined, handed('{"device":"/dev/sda"}'));
    assert.equal(same.status, 202);
    const bad = await signedPost("smart", '{"device":"--scan"}');
    await problem(
      await b.app.request(bad, undefined, handed('{"device":"--scan"}')),
      422,
      "invalid_input",
    );
    const big = JSON.stringify({ device: "/dev/sda", pad: "x".repeat(70_000) });
    const over = await signedPost("smart", big);
    await problem(await b.app.request(over, undefined, handed(big)), 413, "body_too_large");
  } finally {
    await b.close();
  }
});

Deno.test("400, 404, 405, 413, 415 and 422 with the zod issue paths", async () => {
  const b = await bench();
  try {
    await problem(await b.app.request(await signedPost("sensors", "{nope")), 400, "bad_json");
    await problem(await b.app.request(await signedPost("reboot", "{}")), 404, "unknown_op");
    await problem(await b.app.request("/hooks/sensors"), 405, "method_not_allowed");
    await problem(await b.app.request("/jobs", { method: "DELETE" }), 405, "method_not_allowed");
    const big = JSON.stringify({ device: "/dev/sda", pad: "x".repeat(70_000) });
    await problem(await b.app.request(await signedPost("smart", big)), 413, "body_too_large");
    const text = await signedPost("sensors", "{}", { headers: { "content-type": "text/plain" } });
    await problem(await b.app.request(text), 415, "not_json");
    const doc = await problem(
      await b.app.request(await signedPost("smart", '{"device":"--scan","x":1}')),
      422,
      "invalid_input",
    );
    assert.deepEqual(doc.issues.map((i: { path: string[] }) => i.path), [["device"], []]);
    assert.equal(b.runs.length, 0);
  } finally {
    await b.close();
  }
});

Deno.test("the same delivery id and body for another op is a conflict, never that op's job", async () => {
  const b = await bench();
  try {
    const job = {
      keyId: "automation",
      deliveryId: "msg_op",
      bodyHash: "same",
      input: {},
      resourceKeys: [],
    };
    const first = b.scheduler.submit({ ...job, op: "sensors" });
    assert.equal(first.kind, "created");
    const moved = b.scheduler.submit({ ...job, op: "smart" });
    assert.equal(moved.kind, "conflict");
    assert.equal(b.scheduler.submit({ ...job, op: "sensors" }).kind, "existing");
  } finally {
    await b.close();
  }
});

Deno.test("a redelivery returns the same job; another body under the same id is 409", async () => {
  const b = await bench();
  try {
    const first = await b.app.request(await signedPost("sensors", "{}", { id: "msg_1" }));
    const { jobId } = await first.json();
    await b.scheduler.waitFor(jobId, 2000);
    const again = await b.app.request(await signedPost("sensors", "{}", { id: "msg_1" }));
    assert.equal(again.status, 200);
    assert.equal((await again.json()).jobId, jobId);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    const doc = await problem(
      await b.app.request(await signedPost("sensors", "{ }", { id: "msg_1" })),
      409,
      "delivery_conflict",
    );
    assert.equal(doc.jobId, jobId);
    assert.equal(b.runs.length, 1);
  } finally {
    await b.close();
  }
});

Deno.test("429 with Retry-After when the queue is full; accepted jobs are all kept", async () => {
  const b = await bench({ hold: true, maxRunning: 1, maxQueued: 4 });
  try {
    const accepted: string[] = [];
    const post = async (device: string, secret = AUTOMATION) =>
      await b.app.request(await signedPost("smart", `{"device":"/dev/${device}"}`, { secret }));
    // One running, then automation may hold half the queue (2), and no more.
    for (const device of ["sda", "sdb", "sdc"]) {
      const r = await post(device);
      assert.equal(r.status, 202);
      accepted.push((await r.json()).jobId);
    }
    const greedy = await post("sdd");
    await problem(greedy, 429, "queue_full");
    assert.equal(greedy.headers.get("retry-after"), "5");
    // The other key still finds room, until the queue itself is full.
    for (const device of ["sde", "sdf"]) {
      const r = await post(device, MONITORING);
      assert.equal(r.status, 202);
      accepted.push((await r.json()).jobId);
    }
    await problem(await post("sdg", MONITORING), 429, "queue_full");
    for (let i = 0; i < 6; i++) {
      b.release();
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const id of accepted) {
      b.release();
      assert.equal((await b.scheduler.waitFor(id, 2000))?.status, "succeeded", id);
    }
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("a read signature is good for one request: a replay is 401 signature_replayed", async () => {
  const b = await bench();
  try {
    const read = await signedGet("/jobs");
    assert.equal((await b.app.request(read.clone())).status, 200);
    await problem(await b.app.request(read), 401, "signature_replayed");
    assert.equal((await b.app.request(await signedGet("/jobs"))).status, 200);
  } finally {
    await b.close();
  }
});

Deno.test("event streams are capped per key and in all, with 429 too_many_streams", async () => {
  const b = await bench({ hold: true });
  try {
    const { jobId } = await (await b.app.request(await signedPost("sensors", "{}"))).json();
    const open: Response[] = [];
    for (let i = 0; i < MAX_STREAMS_PER_KEY; i++) {
      const r = await b.app.request(await signedGet(`/jobs/${jobId}/events`));
      assert.equal(r.status, 200);
      open.push(r);
    }
    const refused = await b.app.request(await signedGet(`/jobs/${jobId}/events`));
    await problem(refused, 429, "too_many_streams");
    assert.equal(refused.headers.get("retry-after"), "5");
    // A stream that ends gives its slot back.
    await open.shift()!.body!.cancel();
    await new Promise((r) => setTimeout(r, 20));
    const again = await b.app.request(await signedGet(`/jobs/${jobId}/events`));
    assert.equal(again.status, 200);
    open.push(again);
    b.release();
    for (const r of open) await r.text();
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("jobs sharing a resource key never run at once; others run in parallel", async () => {
  const b = await bench({ hold: true, maxRunning: 4 });
  try {
    const post = (body: unknown) => signedPost("smart", JSON.stringify(body)).then(b.app.request);
    await post({ device: "/dev/sda" });
    await post({ device: "/dev/sda", deviceType: "sat" });
    await post({ device: "/dev/sdb" });
    assert.deepEqual(b.runs.map((j) => j.input), [{ device: "/dev/sda" }, { device: "/dev/sdb" }]);
    assert.deepEqual(b.scheduler.load, { running: 2, queued: 1 });
    b.release();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(b.runs.length, 3);
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("503 while shutting down", async () => {
  const b = await bench();
  try {
    await b.scheduler.shutdown(0);
    await problem(await b.app.request(await signedPost("sensors", "{}")), 503, "shutting_down");
  } finally {
    await b.close();
  }
});

Deno.test("while draining: healthz says draining with 503, and a redelivery gets its job back", async () => {
  const b = await bench({ hold: true });
  try {
    const first = await b.app.request(await signedPost("sensors", "{}", { id: "msg_drain" }));
    const { jobId } = await first.json();
    const draining = b.scheduler.shutdown(60_000);
    const health = await b.app.request("/healthz");
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: "draining" });
    const again = await b.app.request(await signedPost("sensors", "{}", { id: "msg_drain" }));
    assert.equal(again.status, 202);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.equal((await again.json()).jobId, jobId);
    await problem(await b.app.request(await signedPost("sensors", "{}")), 503, "shutting_down");
    b.release();
    await draining;
    assert.equal(b.runs.length, 1);
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("GET /jobs lists summaries: no input or result, bounded whatever the results weigh", async () => {
  const big = "x".repeat(256 * 1024);
  const b = await bench({
    result: (job) => ({
      op: job.op,
      ok: job.op === "sensors",
      argv: ["/usr/bin/sensors", "-j"],
      ...(job.op === "sensors"
        ? { result: { chips: [], padding: big } }
        : { error: { code: "device_open_failed", message: big } }),
      durationMs: 1,
    }),
  });
  try {
    for (let i = 0; i < 20; i++) {
      await b.app.request(await signedPost("sensors", "{}", { headers: { prefer: "wait=5" } }));
    }
    await b.app.request(
      await signedPost("smart", '{"device":"/dev/sda"}', { headers: { prefer: "wait=5" } }),
    );
    const response = await b.app.request(await signedGet("/jobs?limit=500"));
    const text = await response.text();
    const { jobs } = JSON.parse(text);
    assert.equal(jobs.length, 21);
    assert.ok(text.length < 21 * 400, `${text.length} bytes for 21 summaries`);
    for (const job of jobs) {
      assert.equal("input" in job || "result" in job, false, JSON.stringify(job));
    }
    assert.equal(jobs[0].errorCode, "device_open_failed");
    const one = await (await b.app.request(await signedGet(`/jobs/${jobs[1].jobId}`))).json();
    assert.equal(one.result.result.padding.length, big.length);
  } finally {
    await b.close();
  }
});

Deno.test("a Prefer: wait client is answered 202 with the current state as soon as draining begins", async () => {
  const b = await bench({ hold: true });
  try {
    const waiting = b.app.request(
      await signedPost("sensors", "{}", { headers: { prefer: "wait=60" } }),
    );
    while (b.runs.length === 0) await new Promise((r) => setTimeout(r, 5));
    const draining = b.scheduler.shutdown(60_000);
    const response = await waiting;
    assert.equal(response.status, 202);
    assert.equal((await response.json()).status, "running");
    b.release();
    await draining;
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("a 409 for another body names a held job only once it is on record", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-app-" });
  const b = await bench({ hold: true, dir });
  try {
    const waiting = b.app.request(
      await signedPost("sensors", "{}", { id: "msg_same", headers: { prefer: "wait=5" } }),
    );
    await eventually(() => Promise.resolve(b.runs.length === 1 || undefined));
    assert.deepEqual(rowsOnDisk(dir), []);
    const other = await b.app.request(
      await signedPost("sensors", "{ }", { id: "msg_same", headers: { prefer: "wait=5" } }),
    );
    const doc = await problem(other, 409, "delivery_conflict");
    assert.deepEqual(rowsOnDisk(dir), [{ id: doc.jobId, status: "running" }]);
    b.release();
    assert.equal((await (await waiting).json()).jobId, doc.jobId);
  } finally {
    b.release();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a held read the journal cannot write is answered 503 without naming it", async () => {
  const b = await bench({ hold: true });
  try {
    const full = Object.assign(new Error("database or disk is full"), { code: "ERR_SQLITE_ERROR" });
    b.journal.persist = () => {
      throw full;
    };
    const response = await b.app.request(
      await signedPost("sensors", "{}", { headers: { prefer: "wait=1" } }),
    );
    const doc = await problem(response, 503, "journal_unavailable");
    assert.equal(response.headers.get("location"), null);
    assert.equal(response.headers.get("retry-after"), "5");
    assert.match(doc.detail, /runs but is not on record; retry with the same webhook-id/);
    assert.equal(doc.jobId, undefined);
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("a waiting client's queued read is on record once draining answers it, for the next start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-app-" });
  const b = await bench({ hold: true, maxRunning: 1, dir });
  try {
    const post = async (id: string) =>
      b.app.request(await signedPost("sensors", "{}", { id, headers: { prefer: "wait=60" } }));
    const first = post("msg_a");
    while (b.runs.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = post("msg_b");
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(rowsOnDisk(dir), [], "both held while their clients wait");
    const draining = b.scheduler.shutdown(60_000);
    const answers = await Promise.all([(await first).json(), (await second).json()]);
    assert.deepEqual(answers.map((a) => a.status), ["running", "queued"]);
    assert.deepEqual(
      rowsOnDisk(dir).sort((x, y) => x.status.localeCompare(y.status)),
      [{ id: answers[1].jobId, status: "queued" }, { id: answers[0].jobId, status: "running" }],
    );
    b.release();
    await draining;
  } finally {
    b.release();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reads are signed, and a key sees only its own jobs", async () => {
  const b = await bench();
  try {
    const mine = await (await b.app.request(await signedPost("sensors", "{}"))).json();
    const theirs = await (await b.app.request(
      await signedPost("sensors", "{}", { secret: MONITORING }),
    )).json();
    await b.scheduler.waitFor(mine.jobId, 2000);
    await problem(await b.app.request(`/jobs/${mine.jobId}`), 401, "signature_missing");
    const got = await b.app.request(await signedGet(`/jobs/${mine.jobId}`));
    assert.equal(got.status, 200);
    assert.equal((await got.json()).status, "succeeded");
    await problem(
      await b.app.request(await signedGet(`/jobs/${theirs.jobId}`)),
      404,
      "job_not_found",
    );
    const list = await (await b.app.request(await signedGet("/jobs?op=sensors&limit=10"))).json();
    assert.deepEqual(list.jobs.map((j: { jobId: string }) => j.jobId), [mine.jobId]);
    const none = await (await b.app.request(await signedGet("/jobs?status=failed"))).json();
    assert.deepEqual(none.jobs, []);
    await problem(await b.app.request(await signedGet("/jobs?status=weird")), 400, "bad_query");
    const replayedPath = await signedGet("/jobs");
    const elsewhere = new Request(`http://rootfence.test/jobs/${mine.jobId}`, {
      headers: replayedPath.headers,
    });
    await problem(await b.app.request(elsewhere), 401, "signature_invalid");
  } finally {
    await b.close();
  }
});

Deno.test("GET /jobs/<id>/events streams queued, started and finished", async () => {
  const b = await bench({ hold: true });
  try {
    const { jobId } = await (await b.app.request(await signedPost("sensors", "{}"))).json();
    const response = await b.app.request(await signedGet(`/jobs/${jobId}/events`));
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    setTimeout(() => b.release(), 50);
    const text = await response.text();
    const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(events, ["queued", "started", "finished"]);
    assert.match(text, /"status":"succeeded"/);
  } finally {
    b.release();
    await b.close();
  }
});

Deno.test("healthz needs no auth and says nothing more; openapi comes from the schemas", async () => {
  const b = await bench();
  try {
    const health = await b.app.request("/healthz");
    assert.deepEqual(await health.json(), { status: "ok" });
    const doc = await (await b.app.request("/openapi.json")).json();
    const { schema } = doc.paths["/hooks/smart"].post.requestBody.content["application/json"];
    assert.equal(schema.$ref, "#/components/schemas/SmartInput");
    const body = doc.components.schemas.SmartInput;
    // No device reads every disk the scan finds; a type needs a device.
    assert.equal(body.required, undefined);
    assert.deepEqual(body.dependentRequired, { deviceType: ["device"] });
    assert.equal(body.additionalProperties, false);
    assert.ok(doc.paths["/hooks/create-golden-lxc"].post.responses["429"]);
  } finally {
    await b.close();
  }
});

Deno.test("one JSON log line per request and per transition, with no secret or signature", async () => {
  const b = await bench();
  try {
    const request = await signedPost("sensors", "{}");
    const signature = request.headers.get("webhook-signature")!;
    const { jobId } = await (await b.app.request(request)).json();
    await b.scheduler.waitFor(jobId, 2000);
    const requestLine = b.logs.find((l) => l.kind === "request" && l.jobId === jobId);
    assert.equal(requestLine?.keyId, "automation");
    assert.equal(requestLine?.status, 202);
    const events = b.logs.filter((l) => l.kind === "job" && l.jobId === jobId).map((l) => l.event);
    assert.deepEqual(events, ["queued", "started", "finished"]);
    const text = JSON.stringify(b.logs);
    assert.ok(!text.includes(signature.slice(3)) && !text.includes(AUTOMATION.slice(6)));
  } finally {
    await b.close();
  }
});

Deno.test("three GitHub-style deliveries of one captured body under made-up ids run no job", async () => {
  const b = await bench();
  try {
    const body = JSON.stringify({
      uuid: "0f3e1d2c-0000-4000-8000-00000000abcd",
      target: "/mnt/usb/a",
    });
    const hmac = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode("It's a Secret to Everybody"),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(
      await crypto.subtle.sign("HMAC", hmac, new TextEncoder().encode(body)),
    );
    for (const delivery of ["d-1", "d-2", "d-3"]) {
      const response = await b.app.request("/hooks/mount-usb", {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-hub-signature-256": `sha256=${mac.toHex()}`,
          "x-github-delivery": delivery,
        },
      });
      assert.equal(response.status, 401);
      assert.equal((await response.json()).code, "signature_missing");
    }
    assert.equal(b.runs.length, 0);
    assert.deepEqual(b.journal.summaries({ keyId: "automation", limit: 10 }), []);
  } finally {
    await b.close();
  }
});

Deno.test("a trigger with 1,300 v1 signatures gets 401 signature_invalid, never 500", async () => {
  const b = await bench();
  try {
    const response = await b.app.request("/hooks/sensors", {
      method: "POST",
      body: "{}",
      headers: {
        "content-type": "application/json",
        "webhook-id": "msg_flood",
        "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
        "webhook-signature": Array.from({ length: 1300 }, () => "v1,").join(" "),
      },
    });
    assert.equal(response.status, 401);
    assert.equal((await response.json()).code, "signature_invalid");
    assert.equal(b.runs.length, 0);
  } finally {
    await b.close();
  }
});
