/**
 * A retiring child's successor dies out on a call, and the retiring child comes back in the same
 * turn, before the pool's refill runs: one child must take the dead one's place, not two. Fake
 * children, so the order of events is exact.
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

Deno.test("pool: a retiring child whose busy successor died starts no second successor", async () => {
  const made: ReturnType<typeof fake>[] = [];
  const start = () => {
    const child = fake(100 + made.length);
    made.push(child);
    return child.child;
  };
  const pool = new ChildPool(start, { size: 1, warm: 1, maxUses: 1, idleMs: 60_000 });
  try {
    pool.prestart(sensors);
    made[0]!.state.ready();
    await tick();
    // A serves its one use: it retires, and its successor S starts.
    const a = await pool.acquire(sensors);
    made[0]!.state.uses = 1;
    pool.release(a);
    await tick();
    assert.equal(made.length, 2);
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
