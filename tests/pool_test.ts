/**
 * Pre-started fenced children: refill, reuse and recycle for read-only ops, single use for
 * mutating ops, recovery from crashes, and idle expiry. The fakes record $PPID, which is the
 * fenced child that ran them.
 */
import assert from "node:assert/strict";
import { findOp } from "../ops/mod.ts";
import { Launcher } from "../runtime/process/launcher.ts";
import type { PoolOptions } from "../runtime/process/pool.ts";
import { type FakeBin, fakeBin, shQuote } from "./_fakes.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";
const sensors = findOp("sensors")!;
const create = findOp("create-golden-lxc")!;

async function withPool(
  pool: PoolOptions,
  fn: (launcher: Launcher, fakes: FakeBin, parents: () => Promise<number[]>) => Promise<void>,
) {
  const fakes = await fakeBin();
  const log = `${fakes.dir}/parents`;
  await fakes.write("sensors", `echo $PPID >> ${shQuote(log)}; printf '{}'; exit 1`);
  await fakes.write("pct", `echo $PPID >> ${shQuote(log)}`);
  const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}`, pool });
  const parents = async () =>
    (await Deno.readTextFile(log).catch(() => "")).split("\n").filter(Boolean).map(Number);
  try {
    await fn(launcher, fakes, parents);
  } finally {
    await launcher.close();
    await fakes.remove();
  }
}

const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
};

async function until(probe: () => boolean | Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("pool: warm children are ready, refilled after use, and reused by read-only ops", async () => {
  await withPool({ size: 1 }, async (launcher, _fakes, parents) => {
    launcher.warm([sensors]);
    assert.equal(launcher.pool!.idle(sensors), 1);
    for (let i = 0; i < 3; i++) {
      const run = await launcher.invoke(sensors, {});
      assert.equal(run.ok, true, JSON.stringify(run.error));
    }
    const seen = await parents();
    assert.equal(seen.length, 3);
    assert.equal(new Set(seen).size, 1, "one child served all three");
    assert.equal(launcher.pool!.idle(sensors), 1);
  });
});

Deno.test("pool: a retiring child serves on until its successor is ready, so no call waits for a child start", async () => {
  await withPool({ size: 1, maxUses: 3 }, async (launcher, _fakes, parents) => {
    const pool = launcher.pool!;
    launcher.warm([sensors]);
    await until(() => pool.ready(sensors) === 1);
    // At least 20 calls, and on until two children have retired (a loaded machine starts
    // successors slowly); room between calls lets several generations serve.
    for (let i = 0; i < 20 || (pool.counts.retired < 2 && i < 400); i++) {
      assert.equal((await launcher.invoke(sensors, {})).ok, true);
      await new Promise((r) => setTimeout(r, 30));
    }
    assert.equal(pool.counts.waitedForStart, 0, "no call waited for a child to start");
    assert.equal(pool.counts.waitedForBusy, 0);
    assert.ok(pool.counts.retired >= 2, JSON.stringify(pool.counts));
    const seen = await parents();
    const generations = [...new Set(seen)];
    assert.ok(generations.length >= 2, `${generations.length} children served`);
    // Every child but the last served its maxUses before it retired.
    for (const pid of generations.slice(0, -1)) {
      assert.ok(seen.filter((p) => p === pid).length >= 3);
      await until(() => !alive(pid));
    }
  });
});

Deno.test("pool: a read-only op grows to its size under concurrent calls, never beyond", async () => {
  await withPool({ size: 2, idleMs: 60_000 }, async (launcher, fakes, parents) => {
    await fakes.write(
      "sensors",
      `echo $PPID >> ${shQuote(`${fakes.dir}/parents`)}; sleep 0.3; printf '{}'; exit 1`,
    );
    const pool = launcher.pool!;
    launcher.warm([sensors]);
    await until(() => pool.ready(sensors) === 1);
    const runs = await Promise.all(
      Array.from({ length: 6 }, () => launcher.invoke(sensors, {})),
    );
    assert.ok(runs.every((run) => run.ok));
    assert.equal(new Set(await parents()).size, 2);
    assert.equal(pool.counts.started, 2);
    assert.equal(pool.idle(sensors), 2);
  });
});

Deno.test("pool: a child that cannot start fails the call with its reason and is not respawned in a loop", async () => {
  const fakes = await fakeBin();
  const entry = `${fakes.dir}/broken_child.js`;
  await Deno.writeTextFile(entry, `console.error("no way to start"); Deno.exit(3);`);
  await fakes.write("sensors", `printf '{}'; exit 1`);
  const launcher = await Launcher.create({
    binPath: `${fakes.dir}:${SYSTEM}`,
    entryPath: entry,
    pool: { size: 2 },
  });
  try {
    const run = await launcher.invoke(sensors, {});
    assert.equal(run.error?.code, "child_failed");
    assert.match(String(run.error?.message), /no way to start/);
    await new Promise((r) => setTimeout(r, 500));
    // One start for the call and one for its single retry: nothing since.
    assert.equal(launcher.pool!.counts.started, 2);
    assert.equal(launcher.pool!.idle(sensors), 0);
  } finally {
    await launcher.close();
    await fakes.remove();
  }
});

Deno.test("pool: mutating ops get a fresh pre-started child every time", async () => {
  await withPool({ size: 1 }, async (launcher, _fakes, parents) => {
    launcher.warm([create]);
    const input = {
      vmid: 9000,
      ostemplate: "local:vztmpl/d.tar.zst",
      storage: "local",
      rootfsGb: 8,
    };
    for (let i = 0; i < 3; i++) assert.equal((await launcher.invoke(create, input)).ok, true);
    const seen = await parents();
    assert.equal(new Set(seen).size, 3, "no child served twice");
    assert.equal(launcher.pool!.idle(create), 1, "the next one is already started");
    for (const pid of seen) await until(() => !alive(pid));
  });
});

Deno.test("pool: a child that crashes mid-invocation fails it cleanly and the pool recovers", async () => {
  await withPool({ size: 1 }, async (launcher, fakes, parents) => {
    assert.equal((await launcher.invoke(sensors, {})).ok, true);
    const [first] = await parents();
    // The next call kills the very child that runs it.
    await fakes.write("sensors", `kill -9 $PPID; sleep 1`);
    const crashed = await launcher.invoke(sensors, {});
    assert.equal(crashed.error?.code, "child_failed", JSON.stringify(crashed));
    assert.match(String(crashed.error?.message), /child exited/);
    await fakes.write(
      "sensors",
      `echo $PPID >> ${shQuote(`${fakes.dir}/parents`)}; printf '{}'; exit 1`,
    );
    const after = await launcher.invoke(sensors, {});
    assert.equal(after.ok, true, JSON.stringify(after.error));
    const seen = await parents();
    assert.notEqual(seen.at(-1), first);
  });
});

Deno.test("pool: an idle child killed from outside is replaced at once", async () => {
  await withPool({ size: 1 }, async (launcher, _fakes, parents) => {
    assert.equal((await launcher.invoke(sensors, {})).ok, true);
    const [first] = await parents();
    Deno.kill(first!, "SIGKILL");
    await until(() => !alive(first!));
    await until(() => launcher.pool!.idle(sensors) === 1);
    assert.equal((await launcher.invoke(sensors, {})).ok, true);
    const seen = await parents();
    assert.notEqual(seen.at(-1), first);
  });
});

Deno.test("pool: children beyond warm expire when idle; the warm one stays", async () => {
  await withPool({ size: 2, idleMs: 300 }, async (launcher, fakes) => {
    await fakes.write("sensors", `sleep 0.2; printf '{}'; exit 1`);
    const pool = launcher.pool!;
    launcher.warm([sensors]);
    await until(() => pool.ready(sensors) === 1);
    await Promise.all([launcher.invoke(sensors, {}), launcher.invoke(sensors, {})]);
    assert.equal(pool.idle(sensors), 2);
    await until(() => pool.idle(sensors) === 1);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(pool.ready(sensors), 1);
    assert.equal(pool.counts.expired, 1);
  });
});

Deno.test("pool: with warm 0, idle children expire and are not replaced until the op is used again", async () => {
  await withPool({ size: 1, warm: 0, idleMs: 300 }, async (launcher, _fakes, parents) => {
    assert.equal((await launcher.invoke(sensors, {})).ok, true);
    const [first] = await parents();
    assert.equal(launcher.pool!.idle(sensors), 1);
    await until(() => launcher.pool!.idle(sensors) === 0);
    await until(() => !alive(first!));
    assert.equal((await launcher.invoke(sensors, {})).ok, true);
    assert.equal(launcher.pool!.idle(sensors), 1);
  });
});

Deno.test("pool: a timeout kills a reused child and the next invocation gets a new one", async () => {
  await withPool({ size: 1 }, async (launcher, fakes, parents) => {
    assert.equal((await launcher.invoke(sensors, {})).ok, true);
    await fakes.write("sensors", `sleep 30`);
    const slow = await launcher.invoke(sensors, {}, { timeoutMs: 500 });
    assert.equal(slow.error?.code, "timeout");
    await fakes.write(
      "sensors",
      `echo $PPID >> ${shQuote(`${fakes.dir}/parents`)}; printf '{}'; exit 1`,
    );
    assert.equal((await launcher.invoke(sensors, {})).ok, true);
    const seen = await parents();
    assert.notEqual(seen[0], seen.at(-1));
  });
});
