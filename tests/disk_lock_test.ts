/**
 * One SMART read per disk at a time, through a real receiver, while reads of other disks go on
 * beside it. The fake `smartctl` notes when each run starts and ends, in nanoseconds.
 */
import assert from "node:assert/strict";
import { fakeBin, shQuote } from "./_fakes.ts";
import { startReceiver } from "./_receiver.ts";

Deno.test("receiver: SMART reads of one disk never overlap, reads of two disks do", async () => {
  const fakes = await fakeBin();
  const runs = `${fakes.dir}/runs`;
  await fakes.write(
    "smartctl",
    [
      "started=$(date +%s%N)",
      "sleep 0.5",
      `printf '{"smartctl":{"exit_status":0},"smart_status":{"passed":true}}'`,
      `echo "$started $(date +%s%N) $(eval echo \\\${$#})" >> ${shQuote(runs)}`,
    ].join("\n"),
  );
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-disk-lock-" });
  const receiver = await startReceiver(stateDir, [
    "--bin-path",
    `${fakes.dir}:/usr/sbin:/usr/bin:/sbin:/bin`,
  ]);
  try {
    // no-cache: each read runs smartctl itself, none shares another's run.
    const headers = { "cache-control": "no-cache" };
    const devices = ["/dev/sda", "/dev/sda", "/dev/sda", "/dev/sdb", "/dev/sda", "/dev/sdb"];
    const answers = await Promise.all(
      devices.map((device) => receiver.send("smart", { device }, { wait: 30, headers })),
    );
    for (const answer of answers) {
      const job = await answer.json();
      assert.equal(answer.status, 200, JSON.stringify(job));
      assert.equal(job.status, "succeeded", JSON.stringify(job));
      assert.equal(job.servedBy, job.jobId);
    }
    const recorded = (await Deno.readTextFile(runs)).trim().split("\n").map((line) => {
      const [start, end, device] = line.split(" ");
      return { start: BigInt(start!), end: BigInt(end!), device: device! };
    });
    assert.equal(recorded.length, devices.length);
    const overlap = (a: typeof recorded[number], b: typeof recorded[number]) =>
      a.start < b.end && b.start < a.end;
    for (const [i, a] of recorded.entries()) {
      for (const b of recorded.slice(i + 1)) {
        if (a.device === b.device) {
          assert.ok(
            !overlap(a, b),
            `${a.device} read twice at once: ${
              JSON.stringify([a, b], (_, v) => typeof v === "bigint" ? String(v) : v)
            }`,
          );
        }
      }
    }
    // Different disks are not held up by each other.
    const sdb = recorded.filter((run) => run.device === "/dev/sdb");
    assert.ok(
      sdb.some((b) => recorded.some((a) => a.device === "/dev/sda" && overlap(a, b))),
      "no read of /dev/sdb overlapped one of /dev/sda",
    );
  } finally {
    await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});
