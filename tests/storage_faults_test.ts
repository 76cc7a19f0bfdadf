/**
 * Storage faults are answered, not fatal: the receiver's state dir on a tiny tmpfs that fills
 * up, and a journal file that is garbage at start. Needs root (to mount the tmpfs).
 */
import assert from "node:assert/strict";
import { fakeBin, shQuote } from "./_fakes.ts";
import { startReceiver, startToExit } from "./_receiver.ts";
import { eventually, fill } from "./_watch.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";

async function run(command: string, args: string[]): Promise<number> {
  return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output()).code;
}

/** Runs `fn` with a directory on a 2 MiB tmpfs of its own; skips where one cannot be mounted. */
async function onTinyDisk(fn: (dir: string) => Promise<void>): Promise<void> {
  if (Deno.uid() !== 0) {
    console.log("skip: mounting a tmpfs needs root");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "rootfence-full-" });
  if (await run("mount", ["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", dir]) !== 0) {
    console.log("skip: cannot mount a tmpfs here");
    await Deno.remove(dir);
    return;
  }
  try {
    await fn(dir);
  } finally {
    await run("umount", [dir]);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a full state disk: triggers get 503 journal_unavailable, a running job's result waits and lands", async () => {
  await onTinyDisk(async (dir) => {
    const fakes = await fakeBin();
    await fakes.write("sensors", `sleep 1.5; printf '%s' ${shQuote('{"chip":{"Adapter":"x"}}')}`);
    const receiver = await startReceiver(`${dir}/state`, ["--bin-path", `${fakes.dir}:${SYSTEM}`]);
    try {
      const running = await (await receiver.send("sensors", {})).json();
      assert.equal(running.status, "running");
      await fill(`${dir}/filler`);

      const refused = await receiver.send("smart", { device: "/dev/sda" });
      assert.equal(refused.status, 503, await refused.clone().text());
      assert.equal((await refused.json()).code, "journal_unavailable");
      assert.equal(refused.headers.get("retry-after"), "5");

      // The fake finishes while the disk is full: its result cannot be written yet.
      await eventually(() =>
        Promise.resolve(
          receiver.lines.some((l) => l.kind === "journal_error" && l.jobId === running.jobId)
            ? true
            : undefined,
        )
      );
      const meanwhile = await (await receiver.read(`/jobs/${running.jobId}`)).json();
      assert.equal(meanwhile.status, "running");

      await Deno.remove(`${dir}/filler`);
      const landed = await eventually(async () => {
        const job = await (await receiver.read(`/jobs/${running.jobId}`)).json();
        return job.status === "succeeded" ? job : undefined;
      });
      assert.equal(landed.result.ok, true);
      const after = await receiver.send("smart", { device: "/dev/sda" });
      assert.equal(after.status, 202);
      assert.equal((await fakes.calls("sensors")).length, 1);
      assert.ok(!receiver.lines.some((l) => l.kind === "unhandled"), "no unhandled error");
    } finally {
      await receiver.stop();
      await fakes.remove();
    }
  });
});

Deno.test("a full disk under a held read: its 503 names no job, and the redelivery gets the one run", async () => {
  await onTinyDisk(async (dir) => {
    const fakes = await fakeBin();
    await fakes.write("sensors", `sleep 4; printf '%s' ${shQuote('{"chip":{"Adapter":"x"}}')}`);
    const receiver = await startReceiver(`${dir}/state`, ["--bin-path", `${fakes.dir}:${SYSTEM}`]);
    try {
      // The client waits 2 s for a 4 s read: it is held, not written, when the disk fills.
      const answer = receiver.send("sensors", {}, { id: "msg_full", wait: 2 });
      await eventually(async () => (await fakes.calls("sensors")).length === 1 || undefined);
      await fill(`${dir}/filler`);
      // Its wait ends first: the 202 would name a job that cannot be put on record.
      const refused = await answer;
      const doc = await refused.json();
      assert.equal(refused.status, 503, JSON.stringify(doc));
      assert.equal(doc.code, "journal_unavailable");
      assert.equal(refused.headers.get("location"), null);
      assert.equal(doc.jobId, undefined);
      assert.match(doc.detail, /runs but is not on record; retry with the same webhook-id/);

      await Deno.remove(`${dir}/filler`);
      const again = await receiver.send("sensors", {}, { id: "msg_full", wait: 20 });
      const job = await again.json();
      assert.equal(again.status, 200, JSON.stringify(job));
      assert.equal(again.headers.get("idempotent-replayed"), "true");
      assert.equal(job.status, "succeeded");
      assert.equal((await fakes.calls("sensors")).length, 1, "the read ran once");
      const stored = await (await receiver.read(`/jobs/${job.jobId}`)).json();
      assert.equal(stored.status, "succeeded");
      assert.ok(!receiver.lines.some((l) => l.kind === "unhandled"), "no unhandled error");
    } finally {
      await receiver.stop();
      await fakes.remove();
    }
  });
});

Deno.test("a garbage journal at start fails with one clear line, never a stack trace", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-garbage-" });
  try {
    const noise = new Uint8Array(64 * 1024);
    crypto.getRandomValues(noise.subarray(0, 65536));
    await Deno.writeFile(`${stateDir}/journal.db`, noise, { mode: 0o600 });
    const { code, stdout, stderr } = await startToExit(stateDir);
    assert.notEqual(code, 0);
    assert.match(stderr, /rootfence: Cannot open the journal ".*journal\.db": /);
    assert.doesNotMatch(stderr, /^\s+at /m, stderr);
    assert.doesNotMatch(stdout, /"kind":"listening"/);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("an executor that fails while starting exits 1 with one line, and so does the starter", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-badstart-" });
  try {
    // Longer than a Unix socket address can be: listening fails after the journal is open.
    const socket = `${stateDir}/${"s".repeat(120)}.sock`;
    const { code, stderr } = await startToExit(stateDir, ["--socket", socket]);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /rootfence: Cannot start the executor: /);
    assert.doesNotMatch(stderr, /^\s+at /m);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("the starter refuses to run the executor from a Deno cache others could write", async () => {
  const open = await Deno.makeTempDir({ prefix: "rootfence-opencache-" });
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-opencache-state-" });
  try {
    await Deno.chmod(open, 0o777);
    const { code, stdout, stderr } = await startToExit(stateDir, [], {
      env: { DENO_DIR: `${open}/deno` },
    });
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /Cannot trust the Deno cache: ".*opencache-[^"]*" is writable by group or others/,
    );
    assert.doesNotMatch(stdout, /"kind":"ready"/);
  } finally {
    await Deno.remove(open, { recursive: true });
    await Deno.remove(stateDir, { recursive: true });
  }
});
