/**
 * A listener that hangs up on the executor mid-answer (its client went away) costs the executor
 * no descriptor past that moment, even while the handler still waits: a `Prefer: wait` trigger
 * ignores the request's signal for up to 60 s, so a held descriptor per client gone would undo
 * the listener's connection cap (README: Hostile clients).
 */
import assert from "node:assert/strict";
import { serveBridge } from "../runtime/server/executor.ts";
import { relay } from "../runtime/server/listener.ts";
import { fakeBin } from "./_fakes.ts";
import { startReceiver } from "./_receiver.ts";
import { fdCount, sleep } from "./_watch.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";
const CLIENTS = 20;

/** This process's open descriptors. */
function openFds(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

/**
 * A real executor socket served by `serveBridge`, with an app that answers only when released,
 * whatever the request's signal says.
 */
async function heldExecutor() {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-hangup-" });
  const path = `${dir}/executor.sock`;
  const server = Deno.listen({ transport: "unix", path });
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  let seen = 0;
  const fetch = async () => {
    seen++;
    await held;
    return new Response("late");
  };
  const served: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of server) served.push(serveBridge(conn, fetch));
  })().catch(() => undefined);
  return {
    path,
    seen: () => seen,
    async close() {
      release();
      server.close();
      await accepting;
      await Promise.all(served);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("the executor closes a bridge connection the listener hung up on, before its handler ends", async () => {
  const executor = await heldExecutor();
  try {
    const before = openFds();
    const line = JSON.stringify({ method: "GET", path: "/jobs", headers: [], body: "" }) + "\n";
    for (let i = 0; i < CLIENTS; i++) {
      const conn = await Deno.connect({ transport: "unix", path: executor.path });
      await conn.write(new TextEncoder().encode(line));
      await sleep(20);
      conn.close();
    }
    await sleep(300);
    assert.equal(executor.seen(), CLIENTS);
    const held = openFds() - before;
    assert.equal(held, 0, `${held} descriptors held for listeners that hung up`);
  } finally {
    await executor.close();
  }
});

Deno.test("clients that leave through the listener's relay leave the executor nothing to hold", async () => {
  const executor = await heldExecutor();
  try {
    const before = openFds();
    const answers = [];
    for (let i = 0; i < CLIENTS; i++) {
      const gone = new AbortController();
      const received = { method: "GET", path: "/jobs", headers: [], body: new Uint8Array() };
      answers.push(relay(received, executor.path, gone.signal));
      setTimeout(() => gone.abort(), 20);
    }
    for (const answer of answers) assert.equal((await answer).status, 502);
    await sleep(300);
    const held = openFds() - before;
    assert.equal(held, 0, `${held} descriptors held for clients long gone`);
  } finally {
    await executor.close();
  }
});

Deno.test("signed Prefer: wait triggers whose clients leave do not hold the real executor's descriptors", async () => {
  const fakes = await fakeBin();
  await fakes.write("sensors", `sleep 6; printf '{}'; exit 0`);
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-hangup-" });
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--bin-path",
    `${fakes.dir}:${SYSTEM}`,
  ], {
    fetch: (request) => fetch(request, { signal: AbortSignal.timeout(300) }),
  });
  try {
    await sleep(500);
    const before = fdCount(receiver.pid);
    // One delivery, sent again and again: every copy waits on the same job, for up to 60 s.
    const sent = Array.from(
      { length: 30 },
      () =>
        receiver.send("sensors", {}, { wait: 60, id: "msg_hangup_1" }).then(
          (response) => `${response.status}`,
          (error) => (error as Error).name,
        ),
    );
    assert.deepEqual([...new Set(await Promise.all(sent))], ["TimeoutError"]);
    await sleep(700);
    const held = fdCount(receiver.pid) - before;
    assert.ok(held < 5, `the executor holds ${held} more descriptors for 30 clients gone`);
  } finally {
    await receiver.stop().catch(() => undefined);
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});
