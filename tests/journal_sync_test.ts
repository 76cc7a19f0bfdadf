/**
 * What the journal costs the disk, counted with strace on a real process: a mutating op's
 * rows are fsynced before each write returns, a read-only op's rows are not.
 */
import assert from "node:assert/strict";
import { countSyncs, STRACE } from "./_syncs.ts";

const journalModule = new URL("../runtime/server/journal.ts", import.meta.url).href;
// The executor's own rule, not a copy: see run_policy.ts.
const policyModule = new URL("../runtime/server/run_policy.ts", import.meta.url).href;

/** Runs `jobs` full job lives (accept, running, process, finished) of `op`; counts the syncs. */
async function syncsFor(op: string, jobs: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-journal-sync-" });
  const script = `
    import { Journal } from ${JSON.stringify(journalModule)};
    import { syncsRows } from ${JSON.stringify(policyModule)};
    const journal = Journal.open(${JSON.stringify(`${dir}/journal.db`)}, { synced: syncsRows });
    for (let i = 0; i < ${jobs}; i++) {
      const { job } = journal.accept({ keyId: "k", deliveryId: "d" + i, bodyHash: "h",
        op: ${JSON.stringify(op)}, input: {}, resourceKeys: [] }, i);
      journal.markRunning(job.id, i);
      journal.markProcess(job.id, 4242, i + 1000, 1);
      journal.markFinished(job.id, "succeeded", { ok: true }, i);
    }
    journal.close();`;
  try {
    const { main, others } = await countSyncs(script, dir);
    return main + others;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "a mutating op's journal rows are fsynced at each step; a read-only op's are not",
  ignore: STRACE === undefined,
  async fn() {
    // Opening and closing sync a few times whatever was written (the WAL, a checkpoint).
    const base = await syncsFor("sensors", 0);
    const mutating = await syncsFor("create-golden-lxc", 20) - base;
    const readOnly = await syncsFor("sensors", 20) - base;
    // Four synced commits per mutating job; a read-only job's commits add none of their own.
    // The base is not exact: under a parallel test run it once took 2 more syncs than in the
    // run it is subtracted from (78 counted for 80), so a few may go missing, never 20.
    assert.ok(mutating >= 76, `mutating: ${mutating} syncs for 20 jobs over ${base}`);
    assert.ok(readOnly <= 2, `read-only: ${readOnly} syncs for 20 jobs over ${base}`);
  },
});

if (STRACE === undefined) console.log("skip: the journal sync test needs strace");
