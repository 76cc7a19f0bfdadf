/**
 * Key rotation on a running receiver, as an operator does it: `deno task keygen` edits the keys
 * file, SIGHUP to `deno task start` reloads it, and nothing in flight notices.
 */
import assert from "node:assert/strict";
import { signedRequest } from "../runtime/cli/client.ts";
import { fakeBin, shQuote } from "./_fakes.ts";
import { keygen, startReceiver } from "./_receiver.ts";
import { eventually } from "./_watch.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";

Deno.test("SIGHUP reloads rotated keys: old and new verify, a retired secret gets 401, a bad file changes nothing, no job or stream is dropped", async () => {
  const fakes = await fakeBin();
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-key-reload-" });
  const go = `${fakes.dir}/go`;
  // smart (a one-minute timeout) runs until the test says go.
  await fakes.write(
    "smartctl",
    `while [ ! -e ${shQuote(go)} ]; do sleep 0.05; done
printf '{"smartctl":{"exit_status":0},"smart_status":{"passed":true}}'`,
  );
  const receiver = await startReceiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM}`]);
  const keysFile = `${stateDir}/keys.json`;
  const old = receiver.secret;
  const read = async (path: string, secret: string) =>
    await fetch(await signedRequest(`${receiver.url}${path}`, { secret }));
  const status = async (secret: string) => {
    const response = await read("/jobs", secret);
    await response.body?.cancel();
    return response.status;
  };
  const reloads = (kind: string) => receiver.lines.filter((line) => line.kind === kind);
  const hangUp = async (kind: string) => {
    const before = reloads(kind).length;
    Deno.kill(receiver.starterPid, "SIGHUP");
    return await eventually(() => reloads(kind)[before]);
  };
  try {
    const jobId = (await (await receiver.send("smart", { device: "/dev/sdb" })).json()).jobId;
    await eventually(async () => (await fakes.calls("smartctl")).length === 1 || undefined);
    // An event stream opened with the secret that is about to be retired.
    const stream = await read(`/jobs/${jobId}/events`, old);
    assert.equal(stream.status, 200);
    const streamed = stream.text();

    await keygen("--keys-file", keysFile, "--rotate", "default", "--secret-out", `${stateDir}/new`);
    const fresh = (await Deno.readTextFile(`${stateDir}/new`)).trim();
    const reloaded = await hangUp("keys_reloaded");
    assert.deepEqual(reloaded.keys, [{ id: "default", ops: ["*"] }]);
    assert.deepEqual([await status(old), await status(fresh)], [200, 200]);

    await keygen("--keys-file", keysFile, "--retire", "default", "--secret", "1");
    await hangUp("keys_reloaded");
    assert.deepEqual([await status(old), await status(fresh)], [401, 200]);

    // A broken file is refused whole, in one line; the keys in force stay.
    await Deno.writeTextFile(keysFile, "{");
    const failed = await hangUp("keys_reload_failed");
    assert.match(String(failed.message), /keys file ".*keys\.json": not JSON; the keys in force/);
    assert.doesNotMatch(String(failed.message), /\n/);
    assert.deepEqual([await status(old), await status(fresh)], [401, 200]);

    // The job that ran through all of it finishes, and its stream (opened with the old secret)
    // is still there to say so.
    await Deno.writeTextFile(go, "");
    const events = [...(await streamed).matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(events, ["queued", "started", "finished"]);
    const job = await (await read(`/jobs/${jobId}`, fresh)).json();
    assert.equal(job.status, "succeeded");
    assert.equal((await fakes.calls("smartctl")).length, 1);
    // One executor all along: reloads never restart it.
    assert.equal(receiver.lines.filter((line) => line.kind === "ready").length, 1);
  } finally {
    assert.equal(await receiver.stop(), 0);
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});
