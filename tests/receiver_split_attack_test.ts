/**
 * Attacks on the receiver split from outside: as a hostile HTTP client, as a compromised
 * listener (anything that can connect to the executor's Unix socket), and as a crash of one of
 * its three processes. Each test names the defect it guards against; every receiver binds port
 * 0, and every process and temporary directory is cleaned up in `finally`.
 */
import assert from "node:assert/strict";
import { LISTENER } from "../runtime/paths.ts";
import { PROBLEMS } from "../runtime/server/problems.ts";
import { fakeBin, shQuote } from "./_fakes.ts";
import { spawnListener } from "./_listener.ts";
import { type Receiver, startReceiver } from "./_receiver.ts";
import {
  alive,
  fdCount,
  health,
  PRLIMIT,
  quietly,
  sleep,
  starveDescriptors,
  until,
} from "./_watch.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";
const root = decodeURIComponent(new URL("..", import.meta.url).pathname);

async function parentOf(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^PPid:\s+(\d+)/m.exec(status)![1]);
}

/** Stops a receiver whose starter may already have exited (the attack may have ended it). */
async function stop(receiver: Receiver | undefined): Promise<void> {
  await receiver?.stop().catch(() => undefined);
}

Deno.test("a flood of connections holding partial request lines neither kills the executor nor leaks", async () => {
  // Defect: serveBridge buffered up to 192 KB per connection with no deadline and no cap, so
  // about a thousand idle connections ran the executor's 128 MB heap out (fatal OOM).
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-attack-flood-" });
  const receiver = await startReceiver(stateDir, ["--listener-user", "root"]);
  const socket = `${await Deno.realPath(stateDir)}/executor.sock`;
  const conns: Deno.Conn[] = [];
  try {
    const before = fdCount(receiver.pid);
    const partial = new TextEncoder().encode("a".repeat(190_000));
    let refused = 0;
    for (let i = 0; i < 1200; i++) {
      let conn: Deno.Conn;
      try {
        conn = await Deno.connect({ transport: "unix", path: socket });
      } catch {
        refused++;
        continue;
      }
      conns.push(conn);
      try {
        for (let at = 0; at < partial.length;) at += await conn.write(partial.subarray(at));
      } catch {
        refused++; // the executor closed it unread: what it should do past its cap
      }
    }
    assert.ok(await alive(receiver.pid), `the executor died:\n${receiver.stderr().slice(-600)}`);
    // Bounded: past its cap the executor closes new connections unread.
    const held = fdCount(receiver.pid) - before;
    assert.ok(held < 1100, `the executor holds ${held} more descriptors (refused ${refused})`);
    // Past the flood the executor serves again: the connections it still holds are ended by
    // its own deadline, not by us.
    assert.ok(await until(async () => (await health(receiver)).startsWith("200 "), 10_000));
    assert.ok(
      await until(() => fdCount(receiver.pid) <= before + 2, 10_000),
      `idle connections are still held: ${fdCount(receiver.pid) - before}`,
    );
    // The cap is for idle peers: a burst of real requests through the listener still passes.
    const statuses = await Promise.all(
      Array.from({ length: 300 }, () =>
        fetch(`${receiver.url}/hooks/sensors`, {
          method: "POST",
          body: "{}",
          headers: { "content-type": "application/json" },
        }).then(async (r) => (await r.body?.cancel(), r.status))),
    );
    assert.deepEqual([...new Set(statuses)], [401]);
  } finally {
    for (const conn of conns) quietly(() => conn.close());
    await stop(receiver);
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a connection that never sends its request line is closed by the executor", async () => {
  // Defect: a half-open connection was held forever (a file descriptor and a buffer each).
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-attack-idle-" });
  const receiver = await startReceiver(stateDir, ["--listener-user", "root"]);
  let conn: Deno.Conn | undefined;
  try {
    conn = await Deno.connect({ transport: "unix", path: `${stateDir}/executor.sock` });
    await conn.write(new TextEncoder().encode('{"method":"GET"'));
    const ended = await Promise.race([
      conn.read(new Uint8Array(16)).then(() => "closed", () => "closed"),
      sleep(10_000).then(() => "still open after 10 s"),
    ]);
    assert.equal(ended, "closed");
  } finally {
    quietly(() => conn?.close());
    await stop(receiver);
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a moment without file descriptors does not leave the executor deaf forever", async () => {
  // Defect (executor.ts main): the accept loop ends on its first error (EMFILE) and the error is
  // swallowed, so the executor lives on serving nothing, and every HTTP request hangs.
  if (PRLIMIT === undefined) {
    console.log("skip: needs prlimit (util-linux) to lower the executor's descriptor limit");
    return;
  }
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-attack-emfile-" });
  const receiver = await startReceiver(stateDir, ["--listener-user", "root"]);
  try {
    const path = `${stateDir}/executor.sock`;
    await starveDescriptors(receiver.pid, () => Deno.connect({ transport: "unix", path }), {
      tries: 16,
      holdMs: 300,
    });
    const back = await until(async () => (await health(receiver, 1000)).startsWith("200"), 6000);
    assert.ok(back, `the executor accepts no more: ${await health(receiver, 1000)}`);
  } finally {
    await stop(receiver);
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("an endless request body gets its 413 at once", async () => {
  // Defect: the listener drained the whole body (readCapped) before answering 413, so a client
  // streaming without end held it forever; Hono's bodyLimit had stopped at the cap.
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-attack-body-" });
  const receiver = await startReceiver(stateDir, ["--listener-user", "root"]);
  try {
    // A raw client: fetch's own upload would keep pulling the stream after the answer.
    const port = Number(new URL(receiver.url).port);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    let sent = 0;
    const head = "POST /hooks/sensors HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
      "transfer-encoding: chunked\r\n\r\n";
    const chunk = new TextEncoder().encode(`10000\r\n${" ".repeat(0x10000)}\r\n`);
    const uploading = (async () => {
      try {
        await conn.write(new TextEncoder().encode(head));
        for (;;) {
          for (let at = 0; at < chunk.length;) at += await conn.write(chunk.subarray(at));
          sent += 0x10000;
        }
      } catch {
        // we closed it, or the listener did
      }
    })();
    try {
      const reply = new Uint8Array(4096);
      const answer = await Promise.race([
        conn.read(reply).then((n) => new TextDecoder().decode(reply.subarray(0, n ?? 0))),
        sleep(5000).then(() => `no answer after 5 s and ${sent >> 20} MiB`),
      ]);
      assert.match(answer, /^HTTP\/1\.1 413 [^]*"code":"body_too_large"/);
    } finally {
      quietly(() => conn.close());
      await uploading;
    }

    const declared = await fetch(`${receiver.url}/hooks/sensors`, {
      method: "POST",
      body: new Uint8Array(70 * 1024),
      headers: { "content-type": "application/json" },
    });
    assert.equal(declared.status, 413);
    assert.equal((await declared.json()).code, "body_too_large");
  } finally {
    await stop(receiver);
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("SIGTERM to the listener lets an in-flight Prefer: wait request finish", async () => {
  // Defect: the listener stopped Deno.serve through its `signal`, which drops every in-flight
  // request unanswered (Ctrl-C reaches the listener too, and so does a stop of its unit).
  const fakes = await fakeBin();
  await fakes.write("sensors", `sleep 1; printf '{}'; exit 1`);
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-attack-drain-" });
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--bin-path",
    `${fakes.dir}:${SYSTEM}`,
  ]);
  try {
    const waiting = receiver.send("sensors", {}, { wait: 20 }).then(
      async (r) => `${r.status} ${(await r.json()).status}`,
      (e) => String(e),
    );
    await sleep(300);
    Deno.kill(receiver.listenerPid, "SIGTERM");
    assert.equal(await waiting, "200 succeeded");
  } finally {
    await stop(receiver);
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a burst of idle TCP connections does not end the listener, nor the receiver with it", async () => {
  // Defect: Deno.serve's `finished` rejects with EMFILE when accepting fails; the listener
  // exited on it and the starter then stopped the executor (with exit code 0). Deno.serve has
  // no connection cap, so an unauthenticated client needed only LimitNOFILE (4096) connections.
  if (PRLIMIT === undefined) {
    console.log("skip: needs prlimit (util-linux) to lower the listener's descriptor limit");
    return;
  }
  // A fixed port: serving again must come back where the clients are.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-attack-tcp-" });
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--port",
    String(port),
  ]);
  try {
    await starveDescriptors(
      receiver.listenerPid,
      () => Deno.connect({ hostname: "127.0.0.1", port }),
    );
    const back = await until(async () => (await health(receiver, 1000)).startsWith("200"), 6000);
    assert.ok(await alive(receiver.listenerPid), `the listener exited:\n${receiver.stderr()}`);
    assert.ok(await alive(receiver.pid), "the executor was stopped");
    assert.ok(back, `the receiver does not answer: ${await health(receiver)}`);
  } finally {
    await stop(receiver);
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a second start on the same state dir neither steals the socket nor touches live jobs", async () => {
  // Defect (executor.ts main): the executor removes whatever is at its socket path and recovers
  // the journal before anything checks for a live instance. A second `deno task start` marks
  // the first one's running job interrupted while it still runs, runs its queued job a second
  // time, takes its socket and, when it stops, deletes it: the first listener answers 503 for
  // ever while its executor lives on.
  const fakes = await fakeBin();
  await fakes.write(
    "smartctl",
    `case "$*" in *sda*) sleep 3;; esac\nprintf '%s' ${shQuote('{"smartctl":{"exit_status":0}}')}`,
  );
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-attack-twice-" });
  const args = [
    "--listener-user",
    "root",
    "--bin-path",
    `${fakes.dir}:${SYSTEM}`,
    "--max-running",
    "1",
    "--grace",
    "1",
  ];
  const first = await startReceiver(stateDir, args);
  let second: Receiver | undefined;
  const problems: string[] = [];
  try {
    const running = (await (await first.send("smart", { device: "/dev/sda" })).json()).jobId;
    await first.send("smart", { device: "/dev/sdb" });
    await until(async () => (await fakes.calls("smartctl")).length === 1, 5000);
    second = await startReceiver(stateDir, args).catch(() => undefined);
    const seen = (await (await first.read(`/jobs/${running}`)).json()).status;
    if (seen !== "running") problems.push(`the first instance's running job reads "${seen}"`);
    await sleep(4000);
    const sdb = (await fakes.calls("smartctl")).filter((c) => c.argv.at(-1) === "/dev/sdb");
    if (sdb.length !== 1) problems.push(`the queued job ran ${sdb.length} times`);
    if (second !== undefined) {
      await stop(second);
      second = undefined;
    }
    const answer = await health(first);
    if (!answer.startsWith("200")) problems.push(`the first instance now answers: ${answer}`);
    assert.deepEqual(problems, []);
  } finally {
    await stop(second);
    await stop(first);
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("kill -9 of the starter leaves no listener or executor serving", async () => {
  // Defect (start.ts): nothing tells the listener or the executor that their parent is gone;
  // both go on serving as orphans, holding the port and the state dir.
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-attack-orphan-" });
  const receiver = await startReceiver(stateDir, ["--listener-user", "root"]);
  try {
    const starter = await parentOf(receiver.pid);
    assert.equal(await parentOf(receiver.listenerPid), starter);
    Deno.kill(starter, "SIGKILL");
    const gone = await until(
      async () => !await alive(receiver.pid) && !await alive(receiver.listenerPid),
      5000,
    );
    assert.ok(gone, `still serving after the starter died: ${await health(receiver)}`);
  } finally {
    // The orphans, if any: a normal stop each (the executor drains and ends its pool).
    for (const pid of [receiver.pid, receiver.listenerPid]) {
      quietly(() => Deno.kill(pid, "SIGTERM"));
    }
    await until(async () => !await alive(receiver.pid) && !await alive(receiver.listenerPid), 5000);
    await stop(receiver);
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("after a crash the next start serves HTTP only once its executor is ready", async () => {
  // Defect (start.ts waitForSocket): the crashed executor's socket file stays; the next starter
  // takes it for the new executor's and starts the listener at once, which then answers 503
  // executor_unavailable (the stale path refuses connections) until the executor is ready.
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-attack-stale-" });
  const crashed = await startReceiver(stateDir, ["--listener-user", "root"]);
  await crashed.crash();
  let again: Receiver | undefined;
  try {
    assert.ok((await Deno.lstat(`${stateDir}/executor.sock`)).isSocket, "no stale socket left");
    again = await startReceiver(stateDir, ["--listener-user", "root"]);
    const order = again.lines.flatMap((l) =>
      l.kind === "ready" || l.kind === "listening" ? [l.kind] : []
    );
    assert.deepEqual(order, ["ready", "listening"]);
  } finally {
    await stop(again);
    await stop(crashed);
    await Deno.remove(stateDir, { recursive: true });
  }
});

/** Every process below `pid`, deepest last. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...children.get(ppid) ?? [], Number(entry.name)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  for (const queue = [pid]; queue.length > 0;) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/** A starter's exit code, or "still running after <ms>" (its whole tree is then killed). */
async function exitCode(child: Deno.ChildProcess, ms: number): Promise<number | string> {
  const code = await Promise.race([child.status.then((s) => s.code), sleep(ms).then(() => -1)]);
  if (code !== -1) return code;
  for (const pid of [child.pid, ...descendants(child.pid)]) {
    quietly(() => Deno.kill(pid, "SIGKILL"));
  }
  await child.status;
  return `still running after ${ms} ms`;
}

/** `deno task start`, read until both processes are up (or it ended); for exit-code checks. */
async function spawnStarter(stateDir: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "start", "--state-dir", stateDir, "--listener-user", "root", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const pids: Record<string, number> = {};
  let buffer = "";
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  while (pids.ready === undefined || pids.listening === undefined) {
    const { value, done } = await lines.read();
    if (done) break;
    buffer += value;
    for (const line of buffer.split("\n").slice(0, -1)) {
      const parsed = JSON.parse(line);
      if (parsed.kind === "ready" || parsed.kind === "listening") pids[parsed.kind] = parsed.pid;
    }
    buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
  }
  void (async () => {
    while (!(await lines.read()).done) {
      // drain
    }
  })();
  return {
    child,
    executorPid: pids.ready,
    listenerPid: pids.listening,
    stderr: async () => (await reading, stderr),
  };
}

Deno.test("the starter exits non-zero when the listener dies or cannot listen", async () => {
  // Defect (start.ts): main returns the executor's code, which is 0 after the clean stop the
  // starter itself asks for, so a dead listener reads as success (no restart on failure).
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-attack-exit-" });
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const started = await spawnStarter(stateDir, ["--port", "0"]);
    if (started.listenerPid !== undefined) Deno.kill(started.listenerPid, "SIGKILL");
    const killed = await exitCode(started.child, 20_000);
    assert.ok(started.listenerPid !== undefined, await started.stderr());

    const taken = await spawnStarter(stateDir, [
      "--port",
      String((busy.addr as Deno.NetAddr).port),
    ]);
    const busyPort = await exitCode(taken.child, 20_000);
    assert.match(await taken.stderr(), /cannot listen on 127.0.0.1:[0-9]+ \(EADDRINUSE\)/);
    assert.deepEqual({ killed, busyPort }, {
      killed: killed === 0 ? "non-zero" : killed,
      busyPort: busyPort === 0 ? "non-zero" : busyPort,
    });
  } finally {
    busy.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

/** Sends `request` as it is and reads the answer to the connection's end (`Connection: close`). */
async function rawRequest(
  url: string,
  request: string,
): Promise<{ status: number; headers: Headers; body: string }> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(request));
  const text = await new Response(conn.readable).text();
  const [head = "", body = ""] = text.split("\r\n\r\n");
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers = new Headers(lines.map((line) => {
    const at = line.indexOf(":");
    return [line.slice(0, at).trim(), line.slice(at + 1).trim()] as [string, string];
  }));
  return { status: Number(statusLine.split(" ")[1]), headers, body };
}

Deno.test("every problem the listener answers itself follows the README's problem contract", async () => {
  // Defect: the listener's own codes (bad_request 400, executor_failed 502,
  // executor_unavailable 503) are in neither the README's table nor PROBLEMS, and its titles
  // were the bare code.
  const dir = await Deno.makeTempDir({ prefix: "rootfence-attack-problems-" });
  const socket = `${dir}/executor.sock`;
  const broken = Deno.listen({ transport: "unix", path: socket });
  const answering = (async () => {
    for await (const conn of broken) {
      await conn.write(new TextEncoder().encode("not a reply\n")).catch(() => 0);
      quietly(() => conn.close());
    }
  })().catch(() => undefined);
  const listeners = [await spawnListener(socket), await spawnListener(`${dir}/missing.sock`)];
  try {
    const [toBroken, toMissing] = listeners.map((l) => l.url);
    // Raw HTTP, so that the body over the cap is only declared: the listener refuses it unread.
    const cases: [string, string, string][] = [
      ["unforwardable path", toBroken!, `GET /jobs/${"a".repeat(5000)} HTTP/1.1`],
      ["unknown method", toBroken!, "PROPFIND /hooks/sensors HTTP/1.1"],
      ["body over the cap", toBroken!, "POST /hooks/sensors HTTP/1.1\r\nContent-Length: 70000"],
      ["executor answers garbage", toBroken!, "GET /healthz HTTP/1.1"],
      ["executor missing", toMissing!, "GET /healthz HTTP/1.1"],
    ];
    const problems: string[] = [];
    for (const [name, url, head] of cases) {
      const response = await rawRequest(url, `${head}\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const body = JSON.parse(response.body);
      const known = (PROBLEMS as Record<string, readonly [number, string]>)[body.code];
      if (response.headers.get("content-type") !== "application/problem+json") {
        problems.push(`${name}: content-type ${response.headers.get("content-type")}`);
      }
      if (
        body.type !== `urn:rootfence:problem:${body.code}` || body.status !== response.status ||
        typeof body.detail !== "string"
      ) problems.push(`${name}: malformed ${JSON.stringify(body)}`);
      if (known === undefined) {
        problems.push(`${name}: ${response.status} ${body.code} is no stable code`);
      } else if (known[0] !== response.status || known[1] !== body.title) {
        problems.push(`${name}: ${response.status} "${body.title}" differs from ${known}`);
      }
    }
    assert.deepEqual(problems, []);
  } finally {
    for (const listener of listeners) await listener.stop();
    broken.close();
    await answering;
    await Deno.remove(dir, { recursive: true });
  }
});

async function canAs(uid: number, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command("test", { args, uid, gid: uid }).output()).code === 0;
  } catch {
    return false;
  }
}

Deno.test("with the state dir opened to 0711 for the listener, its user reads nothing in it", async () => {
  // Guard: at 5aff4b3 the journal and its WAL were 0644 inside a 0711 state dir, so the
  // listener's user (and every local user) read every job; the working tree's journal.ts
  // creates them 0600.
  if (Deno.uid() !== 0) {
    console.log("skip: switching the listener's user needs a root starter");
    return;
  }
  if (!await canAs(65534, ["-r", LISTENER.bundle])) {
    console.log(`skip: user nobody cannot read ${LISTENER.bundle} (a directory above is closed)`);
    return;
  }
  const denoDir = await Deno.makeTempDir({ prefix: "rootfence-attack-deno-" });
  await Deno.chmod(denoDir, 0o755);
  const deno = `${denoDir}/deno`;
  await Deno.copyFile(Deno.execPath(), deno);
  await Deno.chmod(deno, 0o755);
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-attack-modes-" });
  const receiver = await startReceiver(stateDir, ["--listener-user", "nobody"], { deno });
  try {
    assert.equal(((await Deno.stat(stateDir)).mode! & 0o777).toString(8), "711");
    await receiver.send("sensors", {}, { wait: 10 });
    const readable: string[] = [];
    for await (const entry of Deno.readDir(stateDir)) {
      const path = `${stateDir}/${entry.name}`;
      if (entry.name === "executor.sock") continue;
      if (await canAs(65534, ["-r", path])) readable.push(entry.name);
    }
    assert.deepEqual(readable.sort(), []);
    // Connecting needs write on the socket: the listener's group may, another user may not.
    assert.equal(await canAs(65534, ["-w", `${stateDir}/executor.sock`]), true);
    assert.equal(await canAs(54321, ["-w", `${stateDir}/executor.sock`]), false);
  } finally {
    await stop(receiver);
    await Deno.remove(stateDir, { recursive: true });
    await Deno.remove(denoDir, { recursive: true });
  }
});
