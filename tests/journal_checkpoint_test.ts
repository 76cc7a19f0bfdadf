/**
 * The journal's WAL checkpoints run on their own thread: counted with strace on a real process,
 * the executor's thread makes no fsync for read-only jobs however many run, the worker makes
 * them instead, and the WAL stays small although SQLite's own checkpoint is off.
 */
import assert from "node:assert/strict";
import { countSyncs, STRACE } from "./_syncs.ts";

const journalModule = new URL("../runtime/server/journal.ts", import.meta.url).href;
const policyModule = new URL("../runtime/server/run_policy.ts", import.meta.url).href;

/** A script that runs `jobs` read-only job lives, then reports the WAL's size. */
function script(path: string, jobs: number, checkpoints: "inline" | "background"): string {
  return `
    import { Journal } from ${JSON.stringify(journalModule)};
    import { syncsRows } from ${JSON.stringify(policyModule)};
    const journal = Journal.open(${JSON.stringify(path)}, {
      synced: syncsRows, checkpoints: ${JSON.stringify(checkpoints)} });
    const result = { ok: true, result: { readings: "x".repeat(2000) } };
    let biggest = 0;
    for (let i = 0; i < ${jobs}; i++) {
      const { job } = journal.accept({ keyId: "k", deliveryId: "d" + i, bodyHash: "h",
        op: "sensors", input: {}, resourceKeys: [] }, i, "running");
      journal.markProcess(job.id, 4242, i + 1000, 1);
      journal.markFinished(job.id, "succeeded", result, i);
      // Lets the worker's replies in, as the executor's event loop would between requests.
      await new Promise((resolve) => setTimeout(resolve, 0));
      biggest = Math.max(biggest, Deno.statSync(${JSON.stringify(path)} + "-wal").size);
    }
    await journal.checkpoints?.checkpoint();
    console.log(JSON.stringify({ biggest }));
    journal.close();`;
}

interface Traced {
  /** fsyncs made by the thread that ran the jobs. */
  readonly main: number;
  /** fsyncs made by every other thread. */
  readonly others: number;
  /** The largest the WAL file grew, in bytes. */
  readonly biggestWal: number;
}

async function traced(jobs: number, checkpoints: "inline" | "background"): Promise<Traced> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-checkpoint-" });
  try {
    const { main, others, said } = await countSyncs(
      script(`${dir}/journal.db`, jobs, checkpoints),
      dir,
    );
    return { main, others, biggestWal: JSON.parse(said).biggest };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "read-only jobs never wait for a checkpoint's fsync on the executor's thread",
  ignore: STRACE === undefined,
  async fn() {
    // Opening and closing sync a few times whatever was written.
    const inlineBase = await traced(0, "inline");
    const inline = await traced(600, "inline");
    const background = await traced(600, "background");
    const backgroundBase = await traced(0, "background");
    // The control: SQLite's own checkpoint fsyncs on the thread that commits.
    assert.ok(
      inline.main - inlineBase.main >= 8,
      `inline: ${inline.main} syncs on the main thread over ${inlineBase.main}`,
    );
    // Closing checkpoints once more on whichever connection closes last.
    assert.ok(
      background.main - backgroundBase.main <= 2,
      `background: ${background.main} syncs on the main thread over ${backgroundBase.main}`,
    );
    assert.ok(background.others >= 4, `background: ${background.others} syncs on the worker`);
  },
});

Deno.test({
  name: "with SQLite's own checkpoint off, the worker keeps the WAL small",
  ignore: STRACE === undefined,
  async fn() {
    // 1500 jobs in a row write about 70 MB of WAL if nothing checkpoints them; with no gap
    // between writes only the worker's RESTART past 16 MiB can rewind it.
    const { biggestWal } = await traced(1500, "background");
    assert.ok(biggestWal < 24 * 1024 * 1024, `the WAL grew to ${biggestWal} bytes`);
  },
});

if (STRACE === undefined) console.log("skip: the checkpoint tests need strace");

Deno.test("kill -9 while the checkpoint thread copies loses no acknowledged job", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-checkpoint-kill-" });
  try {
    const path = `${dir}/journal.db`;
    let acknowledged = 0;
    for (let round = 0; round < 3; round++) {
      // Each job's accept and finish return before its number is printed: acknowledged.
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          "--no-prompt",
          `import { Journal } from ${JSON.stringify(journalModule)};
          import { syncsRows } from ${JSON.stringify(policyModule)};
          const journal = Journal.open(${JSON.stringify(path)}, {
            synced: syncsRows, checkpoints: "background" });
          for (let i = 0; ; i++) {
            const { job } = journal.accept({ keyId: "k", deliveryId: "${round}-" + i,
              bodyHash: "h", op: "sensors", input: {}, resourceKeys: [] }, i, "running");
            journal.markFinished(job.id, "succeeded", { ok: true, pad: "x".repeat(3000) }, i);
            console.log(i + 1);
            if (i % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
          }`,
        ],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let printed = 0;
      const reading = (async () => {
        for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
          const last = chunk.trim().split("\n").at(-1);
          if (last) printed = Number(last);
        }
      })();
      // Killed once it has acknowledged enough jobs for several background checkpoints (every 48
      // writes) to have run: counted, not timed, so a slow start on a loaded machine changes
      // nothing. Each round stops at another point of the checkpoint cycle.
      const enough = 400 + 37 * round;
      const deadline = Date.now() + 120_000;
      while (printed < enough && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      child.kill("SIGKILL");
      await child.status;
      await reading;
      acknowledged += printed;
      assert.ok(printed > 200, `only ${printed} jobs before the kill`);
    }
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(path);
    const row = db.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'succeeded'").get() as {
      n: number;
    };
    const check = db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
    db.close();
    assert.equal(check.integrity_check, "ok");
    assert.ok(
      row.n >= acknowledged,
      `${row.n} finished jobs journaled, ${acknowledged} acknowledged`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
