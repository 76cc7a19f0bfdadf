/** The executor prunes old finished jobs in the background, from its own flags. */
import assert from "node:assert/strict";
import { Journal } from "../runtime/server/journal.ts";
import { startReceiver } from "./_receiver.ts";

Deno.test("the receiver prunes finished jobs past --retention-days at start, and keeps the rest", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-retention-" });
  const journal = Journal.open(`${stateDir}/journal.db`);
  const now = Date.now();
  for (const [i, ageDays] of [10, 9, 0].entries()) {
    const at = now - ageDays * 86_400_000;
    const accepted = journal.accept(
      {
        keyId: "default",
        deliveryId: `old-${i}`,
        bodyHash: "h",
        op: "sensors",
        input: {},
        resourceKeys: [],
      },
      at,
      "running",
    );
    if (accepted.kind !== "created") throw new Error("not created");
    journal.markFinished(accepted.job.id, "succeeded", { ok: true }, at);
  }
  journal.close();
  const receiver = await startReceiver(stateDir, ["--retention-days", "5"]);
  try {
    const deadline = Date.now() + 10_000;
    while (!receiver.lines.some((l) => l.kind === "pruned") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(receiver.lines.find((l) => l.kind === "pruned")?.jobs, 2);
    const { jobs } = await (await receiver.read("/jobs")).json();
    assert.deepEqual(jobs.map((j: { deliveryId: string }) => j.deliveryId), ["old-2"]);
  } finally {
    await receiver.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
});
