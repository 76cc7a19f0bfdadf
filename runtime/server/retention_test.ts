import assert from "node:assert/strict";
import { Journal } from "./journal.ts";
import { pruneJournal } from "./retention.ts";

const DAY = 86_400_000;

async function journalWith(ages: { status: "succeeded" | "queued"; ageDays: number }[]) {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-retention-" });
  const journal = Journal.open(`${dir}/journal.db`);
  const now = 1_000 * DAY;
  for (const [i, { status, ageDays }] of ages.entries()) {
    const at = now - ageDays * DAY;
    const accepted = journal.accept(
      {
        keyId: "k",
        deliveryId: `d${i}`,
        bodyHash: "h",
        op: "sensors",
        input: {},
        resourceKeys: [],
      },
      at,
      status === "queued" ? "queued" : "running",
    );
    if (accepted.kind !== "created") throw new Error("not created");
    if (status !== "queued") {
      journal.markFinished(accepted.job.id, "succeeded", { ok: true }, at);
    }
  }
  return { journal, dir, now };
}

Deno.test("pruneJournal() drops finished jobs past the age and the count, never queued ones", async () => {
  const { journal, dir, now } = await journalWith([
    { status: "succeeded", ageDays: 500 },
    { status: "succeeded", ageDays: 401 },
    { status: "queued", ageDays: 900 },
    { status: "succeeded", ageDays: 3 },
    { status: "succeeded", ageDays: 2 },
    { status: "succeeded", ageDays: 1 },
  ]);
  try {
    const deleted = await pruneJournal(journal, { maxAgeMs: 400 * DAY, maxJobs: 2 }, now, 1);
    assert.equal(deleted, 3);
    const left = journal.summaries({ keyId: "k", limit: 100 });
    assert.deepEqual(left.map((j) => j.deliveryId).sort(), ["d2", "d4", "d5"]);
    assert.equal(await pruneJournal(journal, { maxAgeMs: 400 * DAY, maxJobs: 2 }, now), 0);
  } finally {
    journal.close();
    await Deno.remove(dir, { recursive: true });
  }
});
