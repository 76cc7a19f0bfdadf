/**
 * A retiring child serves on until its successor is ready, also when that successor dies first
 * and another child is started in its place. Fake children, so the order of events is exact: with
 * real ones, whether the replacement is still starting when the retiring child comes back is
 * up to the machine.
 */
import assert from "node:assert/strict";
import { findOp } from "../ops/mod.ts";
import type { FencedChild } from "../runtime/process/fenced_child.ts";
import { ChildPool } from "../runtime/process/pool.ts";

const sensors = findOp("sensors")!;

/** A fake child: ready when told, used as told, gone when closed. */
function fake(pid: number) {
  let ready!: () => void;
  let exit!: () => void;
  const warm = new Promise<void>((resolve) => ready = resolve);
  const exited = new Promise<Deno.CommandStatus>((resolve) =>
    exit = () => resolve({ success: false, code: 1, signal: null })
  );
  const state = { uses: 0, available: true, ready };
  const end = () => {
    state.available = false;
    exit();
    return Promise.resolve();
  };
  const child = {
    op: sensors,
    pid,
    get uses() {
      return state.uses;
    },
    get available() {
      return state.available;
    },
    exited,
    warmUp: () => warm,
    close: end,
    kill: end,
  } as unknown as FencedChild;
  return { child, state };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

/** A size-1 pool of fake `sensors` children, with every child it made in order. */
function fakePool() {
  const made: ReturnType<typeof fake>[] = [];
  const start = () => {
    const child = fake(100 + made.length);
    made.push(child);
    return child.child;
  };
  const pool = new ChildPool(start, { size: 1, warm: 1, maxUses: 1, idleMs: 60_000 });
  return { pool, made };
}

/** Makes the warm child A serve its one use, so it retires and its successor S starts. */
async function retiring(pool: ChildPool, made: ReturnType<typeof fake>[]): Promise<FencedChild> {
  pool.prestart(sensors);
  made[0]!.state.ready();
  await tick();
  const a = await pool.acquire(sensors);
  made[0]!.state.uses = 1;
  pool.release(a);
  await tick();
  assert.equal(made.length, 2);
  return a;
}

Deno.test("pool: a retiring child whose ready successor died serves on until the replacement is ready", async () => {
  const { pool, made } = fakePool();
  try {
    const a = await retiring(pool, made);
    // A goes out on a call; S gets ready, then dies: a replacement starts at once.
    assert.equal(await pool.acquire(sensors), a);
    made[1]!.state.ready();
    await tick();
    await made[1]!.child.kill();
    await tick();
    assert.equal(made.length, 3);
    // A comes back while the replacement still starts: the next call gets A, with no wait.
    pool.release(a);
    const next = pool.acquire(sensors);
    next.catch(() => undefined);
    const taken = await Promise.race([next, tick().then(() => undefined)]);
    assert.equal(taken, a, "the next call waited for a child start");
  } finally {
    for (const f of made) f.state.ready();
    await pool.close();
  }
});

Deno.test("pool: a retiring child whose busy successor died starts no second successor", async () => {
  const { pool, made } = fakePool();
  try {
    await retiring(pool, made);
    // A serves on while S starts; S, ready, is taken for a call of its own.
    const again = await pool.acquire(sensors);
    made[1]!.state.ready();
    await tick();
    const s = await pool.acquire(sensors);
    assert.equal(s, made[1]!.child);
    // S dies on its call, and A comes back in the same turn.
    made[1]!.state.available = false;
    pool.release(s);
    pool.release(again);
    await tick();
    assert.equal(made.length, 3, "one child too many started in the dead successor's place");
  } finally {
    for (const f of made) f.state.ready();
    await pool.close();
  }
});
