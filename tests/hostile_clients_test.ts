/**
 * Hostile and slow HTTP clients against a real receiver: connections that never finish their
 * headers or their body, more connections than the cap, and answers that are quiet for longer
 * than any client deadline. Each test names the defect it guards against.
 */
import assert from "node:assert/strict";
import { signedRequest } from "../runtime/cli/client.ts";
import { fakeBin } from "./_fakes.ts";
import { startReceiver } from "./_receiver.ts";
import { alive, closedWithin, fdCount, health, quietly, sleep, until } from "./_watch.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";

async function connect(url: string, text = ""): Promise<Deno.Conn> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  if (text !== "") await conn.write(new TextEncoder().encode(text));
  return conn;
}

Deno.test("half-sent requests and silent connections are closed at the header deadline", async () => {
  // Defect: Deno.serve has no header or idle timeout: 1,000 half-sent requests were all still
  // open after 20 s, each holding a descriptor and memory.
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-hostile-headers-" });
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--header-timeout",
    "1",
  ]);
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      conns.push(
        await connect(receiver.url, i % 2 ? "" : "POST /hooks/sensors HTTP/1.1\r\nHost: x\r\n"),
      );
    }
    const closed = await Promise.all(conns.map((conn) => closedWithin(conn, 5000)));
    const open = closed.filter((ms) => ms === undefined).length;
    assert.equal(open, 0, `${open} of 40 connections still open after 5 s`);
    assert.ok(Math.max(...closed as number[]) < 3000, `closed after ${closed} ms`);
    assert.ok((await health(receiver)).startsWith("200"));
  } finally {
    for (const conn of conns) quietly(() => conn.close());
    await receiver.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a client trickling header bytes is closed at the header deadline all the same", async () => {
  // Defect: an idle timeout alone is reset by every byte, so one byte a second holds a
  // connection for ever.
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-hostile-trickle-" });
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--header-timeout",
    "1",
  ]);
  const conn = await connect(receiver.url, "GET /healthz HTTP/1.1\r\n");
  let trickling = true;
  try {
    const trickle = (async () => {
      for (let i = 0; trickling && i < 40; i++) {
        await sleep(100);
        await conn.write(new TextEncoder().encode("x")).catch(() => (trickling = false));
      }
    })();
    const ms = await closedWithin(conn, 4000);
    trickling = false;
    await trickle;
    assert.ok(ms !== undefined && ms < 3000, `still open after ${ms ?? "4000+"} ms of trickling`);
  } finally {
    trickling = false;
    quietly(() => conn.close());
    await receiver.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a body that stops coming is closed at the body deadline and never becomes a job", async () => {
  // Defect: nothing bounded how long the listener waited for a declared body.
  const fakes = await fakeBin();
  await fakes.write("sensors", "printf '{}'");
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-hostile-body-" });
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--body-timeout",
    "1",
    "--bin-path",
    `${fakes.dir}:${SYSTEM}`,
  ]);
  // A validly signed 1000-byte body, of which only the first byte is ever sent.
  const body = "{}" + " ".repeat(998);
  const signed = await signedRequest(`${receiver.url}/hooks/sensors`, {
    secret: receiver.secret,
    body,
  });
  const head = [...signed.headers].map(([name, value]) => `${name}: ${value}\r\n`).join("");
  const conn = await connect(
    receiver.url,
    `POST /hooks/sensors HTTP/1.1\r\nHost: x\r\n${head}Content-Length: 1000\r\n\r\n{`,
  );
  try {
    const ms = await closedWithin(conn, 5000);
    assert.ok(ms !== undefined && ms < 3000, `still open after ${ms ?? "5000+"} ms`);
    // Nothing was forwarded: the executor logged no request at all, and nothing ran.
    assert.equal((await fakes.calls("sensors")).length, 0);
    const forwarded = receiver.lines.filter((line) => line.path === "/hooks/sensors");
    assert.deepEqual(forwarded, []);
    // The control: the same signed request, sent whole, is a job.
    const whole = await fetch(signed);
    assert.equal(whole.status, 202, await whole.text());
  } finally {
    quietly(() => conn.close());
    await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("idle connections over the cap make way, so descriptors stay bounded and a real client gets in", async () => {
  // Defects: with no cap, every idle connection held a descriptor until the process ran out
  // (about 4,060 under LimitNOFILE=4096) and the receiver died; with a cap that refused the
  // newest, one client's idle sockets locked every other client out until they timed out.
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-hostile-cap-" });
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--max-connections",
    "50",
    "--header-timeout",
    "30",
  ]);
  const conns: Deno.Conn[] = [];
  try {
    const before = fdCount(receiver.listenerPid);
    for (let i = 0; i < 300; i++) conns.push(await connect(receiver.url));
    // An evicted socket closes a moment later, later still on a loaded machine (CI saw 71 at
    // 300 ms), and connections still in the listen backlog are accepted after the first dip
    // (CI saw the count at 115 right after one read at 55): wait until it stays bounded for
    // half a second, well inside the 30 s deadline that would close them anyway. Without the
    // cap it stays near 300.
    let streak = 0;
    const settled = () => {
      streak = fdCount(receiver.listenerPid) - before <= 55 ? streak + 1 : 0;
      return streak >= 10;
    };
    await until(settled, 10_000);
    const held = fdCount(receiver.listenerPid) - before;
    assert.ok(held <= 55, `the listener holds ${held} more descriptors for 300 connections`);
    assert.ok(await alive(receiver.listenerPid));
    // While the idle sockets are still open, and long before their deadline, a client that
    // sends its request gets in, time after time.
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await health(receiver, 1000)).slice(0, 3));
    assert.deepEqual(answers, ["200", "200", "200", "200", "200"]);
  } finally {
    for (const conn of conns) quietly(() => conn.close());
    await receiver.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("an answer may be quiet for longer than the client deadlines: Prefer: wait and keep-alive", async () => {
  // The deadlines bind the client, not the server: a `Prefer: wait` on a slow op is answered,
  // and a keep-alive connection serves a second request before its idle deadline.
  const fakes = await fakeBin();
  await fakes.write("sensors", "sleep 2.5; printf '{}'");
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-hostile-quiet-" });
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--header-timeout",
    "1",
    "--body-timeout",
    "1",
    "--bin-path",
    `${fakes.dir}:${SYSTEM}`,
  ]);
  try {
    const response = await receiver.send("sensors", {}, { wait: 20 });
    assert.equal(`${response.status} ${(await response.json()).status}`, "200 succeeded");
    const conn = await connect(receiver.url);
    const twice = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    await conn.write(new TextEncoder().encode(twice));
    await sleep(500);
    await conn.write(new TextEncoder().encode(twice));
    const buffer = new Uint8Array(8192);
    let text = "";
    while ((text.match(/HTTP\/1\.1 200/g) ?? []).length < 2) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    quietly(() => conn.close());
    assert.equal((text.match(/HTTP\/1\.1 200/g) ?? []).length, 2, text);
  } finally {
    await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});
