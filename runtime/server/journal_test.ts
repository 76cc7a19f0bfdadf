import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { RootfenceError } from "../errors.ts";
import { Journal, type NewJob } from "./journal.ts";

const job: NewJob = {
  keyId: "automation",
  deliveryId: "msg_1",
  bodyHash: "aa",
  op: "sensors",
  input: {},
  resourceKeys: ["sensors"],
};

Deno.test("Journal keeps jobs across reopen, dedupes deliveries and interrupts running jobs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-journal-" });
  try {
    const first = Journal.open(`${dir}/j.db`);
    const created = first.accept(job, 1000);
    assert.equal(created.kind, "created");
    assert.equal(first.accept(job, 1001).kind, "existing");
    assert.equal(first.accept({ ...job, bodyHash: "bb" }, 1002).kind, "conflict");
    assert.equal(first.accept({ ...job, keyId: "monitoring" }, 1003).kind, "created");
    first.markRunning(created.job.id, 1100);
    first.close();

    const second = Journal.open(`${dir}/j.db`);
    const interrupted = second.interruptRunning(2000);
    assert.deepEqual(interrupted.map((j) => j.id), [created.job.id]);
    const stored = second.get(created.job.id)!;
    assert.equal(stored.status, "interrupted");
    assert.equal(stored.finishedAt, 2000);
    assert.equal(second.queued().length, 1);
    assert.deepEqual(second.summaries({ keyId: "automation", limit: 10 }).map((j) => j.id), [
      created.job.id,
    ]);
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function withDir(fn: (dir: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-journal-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

Deno.test("Journal.open creates journal.db and its WAL and shared-memory files mode 0600", async () => {
  await withDir((dir) => {
    const journal = Journal.open(`${dir}/journal.db`);
    journal.accept(job, 1000);
    for (const name of ["journal.db", "journal.db-wal", "journal.db-shm"]) {
      assert.equal(mode(`${dir}/${name}`).toString(8), "600", name);
    }
    journal.close();
  });
});

Deno.test("Journal.open narrows an existing 0644 journal to 0600", async () => {
  await withDir(async (dir) => {
    Journal.open(`${dir}/journal.db`).close();
    await Deno.chmod(`${dir}/journal.db`, 0o644);
    const journal = Journal.open(`${dir}/journal.db`);
    journal.accept(job, 1000);
    for (const name of ["journal.db", "journal.db-wal", "journal.db-shm"]) {
      assert.equal(mode(`${dir}/${name}`).toString(8), "600", name);
    }
    journal.close();
  });
});

Deno.test("Journal.open refuses a journal.db symlink planted in a 0777 dir and creates nothing outside", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/state`);
    await Deno.chmod(`${dir}/state`, 0o777);
    await Deno.mkdir(`${dir}/outside`);
    await Deno.symlink(`${dir}/outside/owned.db`, `${dir}/state/journal.db`);
    assert.throws(
      () => Journal.open(`${dir}/state/journal.db`),
      (error) =>
        error instanceof RootfenceError && error.code === "denied" &&
        /journal\.db" is a symlink; remove it/.test(error.message),
    );
    assert.deepEqual([...Deno.readDirSync(`${dir}/outside`)], []);
  });
});

Deno.test("Journal.open refuses planted -wal and -shm symlinks and non-regular files", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/journal.db`;
    Journal.open(path).close();
    for (const suffix of ["-wal", "-shm"]) {
      await Deno.symlink(`${dir}/elsewhere${suffix}`, `${path}${suffix}`);
      assert.throws(() => Journal.open(path), new RegExp(`journal\\.db${suffix}" is a symlink`));
      await Deno.remove(`${path}${suffix}`);
    }
    await Deno.mkdir(`${path}-wal`);
    assert.throws(() => Journal.open(path), /journal\.db-wal" is not a regular file/);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("elsewhere")),
      [],
    );
  });
});

Deno.test("Journal.open gives a journal from before progress its table; old jobs have none", async () => {
  await withDir((dir) => {
    const path = `${dir}/journal.db`;
    // The jobs table as the first journals had it: no pgid, no served_by, no progress table.
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE jobs (id TEXT PRIMARY KEY, key_id TEXT NOT NULL,
      delivery_id TEXT NOT NULL, body_hash TEXT NOT NULL, op TEXT NOT NULL, input TEXT NOT NULL,
      resource_keys TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL,
      started_at INTEGER, finished_at INTEGER, result TEXT, UNIQUE (key_id, delivery_id))`);
    old.prepare(`INSERT INTO jobs VALUES ('old', 'automation', 'msg_0', 'aa', 'create-golden-lxc',
      '{}', '[]', 'succeeded', 1, 2, 3, '{"ok":true}')`).run();
    old.close();
    for (let open = 0; open < 2; open++) {
      const journal = Journal.open(path);
      assert.equal(journal.get("old")?.status, "succeeded");
      assert.equal(journal.lastProgress("old"), undefined);
      assert.deepEqual(journal.progressAfter("old", 0, 10), []);
      journal.close();
    }
  });
});

Deno.test("Journal keeps a job's progress rows in order and drops them with the job when pruned", async () => {
  await withDir((dir) => {
    const journal = Journal.open(`${dir}/journal.db`);
    const { job: created } = journal.accept({ ...job, op: "create-golden-lxc" }, 1000, "running");
    const line = (seq: number) => ({
      seq,
      at: 1000 + seq,
      progress: { stream: "stdout" as const, line: `line ${seq}` },
    });
    journal.addProgress(created.id, [line(3), line(4)]);
    journal.addProgress(created.id, [line(5), { seq: 6, at: 1006, progress: { truncated: true } }]);
    assert.equal(journal.lastProgress(created.id), 6);
    assert.deepEqual(journal.progressAfter(created.id, 3, 2), [line(4), line(5)]);
    // A batch that cannot be stored whole stores nothing (seq 6 is taken).
    assert.throws(() => journal.addProgress(created.id, [line(7), line(6)]));
    assert.equal(journal.lastProgress(created.id), 6);
    journal.markFinished(created.id, "succeeded", { ok: true }, 2000);
    assert.equal(journal.pruneBatch({ olderThan: 3000, keep: 0, batch: 10 }), 1);
    assert.equal(journal.lastProgress(created.id), undefined);
    journal.close();
  });
});
