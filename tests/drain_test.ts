/**
 * A real receiver draining after SIGTERM: it goes on answering through the listener until its
 * running jobs are done, as the README promises.
 */
import assert from "node:assert/strict";
import { fakeBin } from "./_fakes.ts";
import { startReceiver } from "./_receiver.ts";
import { health, sleep } from "./_watch.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";

Deno.test("while a job drains after SIGTERM, every request is still answered: draining, shutting_down, the job", async () => {
  // Defect (executor.ts): the accept loop ended on SIGTERM, so after one more request nothing
  // was answered until the grace ran out, and then the listener said 502 executor_failed.
  const fakes = await fakeBin();
  await fakes.write("sensors", "sleep 4; printf '{}'");
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-drain-" });
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--grace",
    "10",
    "--bin-path",
    `${fakes.dir}:${SYSTEM}`,
  ]);
  try {
    const accepted = await receiver.send("sensors", {}, { id: "drain-1" });
    const { jobId } = await accepted.json();
    await sleep(300);
    Deno.kill(receiver.pid, "SIGTERM");
    await sleep(300);
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) answers.push(await health(receiver, 1500));
    const trigger = await receiver.send("sensors", {}, { id: "drain-2" });
    answers.push(`${trigger.status} ${(await trigger.json()).code}`);
    const replay = await receiver.send("sensors", {}, { id: "drain-1" });
    answers.push(`${replay.status} ${(await replay.json()).jobId === jobId}`);
    const read = await receiver.read(`/jobs/${jobId}`);
    answers.push(`${read.status} ${(await read.json()).status}`);
    assert.deepEqual(answers, [
      '503 {"status":"draining"}',
      '503 {"status":"draining"}',
      '503 {"status":"draining"}',
      "503 shutting_down",
      "202 true",
      "200 running",
    ]);
  } finally {
    await receiver.stop().catch(() => undefined);
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});
