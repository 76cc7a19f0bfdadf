import assert from "node:assert/strict";
import { KeyringHolder } from "./keyring_holder.ts";
import type { Keyring } from "./keys.ts";

const ring = (id: string): Keyring => ({ keys: [{ id, ops: ["*"], secrets: [] }], files: [] });

Deno.test("KeyringHolder.reload() runs reloads in the order asked, so the last file asked wins", async () => {
  const holder = new KeyringHolder(ring("start"));
  let finishSlow = () => {};
  const slow = holder.reload(() =>
    new Promise<Keyring>((resolve) => finishSlow = () => resolve(ring("first")))
  );
  const fast = holder.reload(() => Promise.resolve(ring("second")));
  // The second load has not even started: the first is still loading.
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(holder.current.keys[0]!.id, "start");
  finishSlow();
  await Promise.all([slow, fast]);
  assert.equal(holder.current.keys[0]!.id, "second");
});

Deno.test("KeyringHolder.reload() keeps the keys in force when a load fails, and goes on reloading", async () => {
  const start = ring("start");
  const holder = new KeyringHolder(start);
  await assert.rejects(holder.reload(() => Promise.reject(new Error("not JSON"))), /not JSON/);
  assert.equal(holder.current, start);
  await holder.reload(() => Promise.resolve(ring("next")));
  assert.equal(holder.current.keys[0]!.id, "next");
});
