/**
 * The listener on a Unix socket (`--listen unix:<path>`), for a reverse proxy on the same host:
 * signed triggers over the socket, its mode, what may stand at its path beforehand (an attack
 * test: only a stale socket of the listener's own is ever removed), the header deadline and the
 * EMFILE watchdog on it; and systemd socket activation, verified with `systemd-socket-activate`.
 */
import assert from "node:assert/strict";
import { type ServerConfig, serverDefaults } from "../runtime/server/config.ts";
import { buildListenerCommand } from "../runtime/server/receiver_commands.ts";
import { LISTENER } from "../runtime/paths.ts";
import { signedRequest } from "../runtime/cli/client.ts";
import { fakeBin } from "./_fakes.ts";
import { startReceiver, unixFetch } from "./_receiver.ts";
import { alive, PRLIMIT, quietly, sleep, starveDescriptors, until } from "./_watch.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";

function findTool(name: string): string | undefined {
  for (const dir of SYSTEM.split(":")) {
    try {
      Deno.statSync(`${dir}/${name}`);
      return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A socket file nobody listens on: what a listener killed by SIGKILL leaves behind. */
async function staleSocket(path: string): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} }); Deno.exit(0)`,
    ],
  }).output();
  assert.equal(output.code, 0);
  assert.ok((await Deno.lstat(path)).isSocket);
}

/** The listener alone, under its exact flags: until it listens (then SIGTERM) or exits. */
async function listenerAlone(config: ServerConfig): Promise<{ code: number; stderr: string }> {
  const command = buildListenerCommand({
    config,
    denoPath: Deno.execPath(),
    entryPath: LISTENER.bundle,
  });
  const child = new Deno.Command(command.command, {
    args: [...command.args],
    clearEnv: true,
    env: { ...command.env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let listening = false;
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    if (chunk.includes('"kind":"listening"')) {
      listening = true;
      child.kill("SIGTERM");
    }
  }
  const { code } = await child.status;
  return { code: listening ? -1 : code, stderr: (await stderr).trim() };
}

Deno.test("--listen unix: serves signed triggers over a socket of mode 0660, removed at stop", async () => {
  const fakes = await fakeBin();
  await fakes.write("sensors", `printf '{"coretemp-isa-0000":{}}'`);
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-unix-run-" });
  const dir = await Deno.makeTempDir({ prefix: "rootfence-unix-proxy-" });
  const path = `${dir}/listener.sock`;
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--bin-path",
    `${fakes.dir}:${SYSTEM}`,
    "--listen",
    `unix:${path}`,
  ], { fetch: unixFetch(path) });
  try {
    const info = await Deno.lstat(path);
    assert.ok(info.isSocket);
    assert.equal(info.mode! & 0o777, 0o660);
    assert.match(receiver.stderr(), /receiver on http on unix:.*listener\.sock/);
    const response = await receiver.send("sensors", {}, { wait: 10 });
    const job = await response.json();
    assert.equal(`${response.status} ${job.status}`, "200 succeeded", JSON.stringify(job));
    const read = await receiver.read(`/jobs/${job.jobId}`);
    assert.equal(read.status, 200);
    await read.body?.cancel();
    // The listener holds no TCP port: nothing but the socket reaches it.
    const listening = receiver.lines.find((line) => line.kind === "listening")!;
    assert.equal(listening.path, path);
    assert.equal(listening.port, undefined);
  } finally {
    assert.equal(await receiver.stop(), 0);
    await fakes.remove();
  }
  try {
    assert.equal(await Deno.lstat(path).then(() => "still there", () => "gone"), "gone");
  } finally {
    await Deno.remove(stateDir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("at its socket path the listener removes only a stale socket of its own; anything else is refused and left alone", async () => {
  // Defect guarded: a listener that unlinked whatever stood at its path would delete the journal
  // or the keys file for a mistyped --listen, or take over another process's socket.
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence-unix-attack-" }));
  const path = `${dir}/listener.sock`;
  const config = {
    ...serverDefaults(dir),
    listenPath: path,
    socket: `${dir}/executor.sock`,
  };
  const clear = async () => await Deno.remove(path, { recursive: true }).catch(() => undefined);
  try {
    // A regular file (a mistyped path that names the journal): refused, kept byte for byte.
    await Deno.writeTextFile(path, "precious");
    let run = await listenerAlone(config);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^rootfence: Cannot listen on ".*listener\.sock": it is a regular file/,
    );
    assert.equal(await Deno.readTextFile(path), "precious");
    await clear();

    // A symlink to a file elsewhere: refused, the link and its target untouched.
    await Deno.writeTextFile(`${dir}/target`, "target");
    await Deno.symlink(`${dir}/target`, path);
    run = await listenerAlone(config);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /it is a symlink/);
    assert.ok((await Deno.lstat(path)).isSymlink);
    assert.equal(await Deno.readTextFile(`${dir}/target`), "target");
    await clear();

    // A directory.
    await Deno.mkdir(path);
    run = await listenerAlone(config);
    assert.match(run.stderr, /it is a directory/);
    assert.ok((await Deno.lstat(path)).isDirectory);
    await clear();

    // A live socket of another process: refused, and that process still serves on it.
    const live = Deno.listen({ transport: "unix", path });
    run = await listenerAlone(config);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /another process listens on it/);
    const accepted = live.accept();
    const conn = await Deno.connect({ transport: "unix", path });
    (await accepted).close();
    conn.close();
    live.close();
    await clear();

    // Another user's stale socket (needs root to give it away).
    if (Deno.uid() === 0) {
      await staleSocket(path);
      await Deno.chown(path, 65534, 65534);
      run = await listenerAlone(config);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /a socket of uid 65534, not of uid 0/);
      assert.ok((await Deno.lstat(path)).isSocket);
      await clear();
    } else console.log("skip: another user's socket needs root to make");

    // The control: its own stale socket (a listener killed by SIGKILL) is replaced.
    await staleSocket(path);
    run = await listenerAlone(config);
    assert.equal(run.code, -1, `it did not listen: ${run.stderr}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("on a Unix socket, half-sent requests meet the header deadline, and accepting comes back after EMFILE", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-unix-hostile-" });
  const dir = await Deno.makeTempDir({ prefix: "rootfence-unix-hostile-proxy-" });
  const path = `${dir}/listener.sock`;
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--header-timeout",
    "1",
    "--listen",
    `unix:${path}`,
  ], { fetch: unixFetch(path) });
  const conns: Deno.Conn[] = [];
  const health = async () => {
    try {
      const response = await receiver.fetch(`${receiver.url}/healthz`, {
        signal: AbortSignal.timeout(1000),
      });
      return `${response.status} ${await response.text()}`;
    } catch (error) {
      return String(error);
    }
  };
  try {
    for (let i = 0; i < 10; i++) {
      const conn = await Deno.connect({ transport: "unix", path });
      if (i % 2) await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
      conns.push(conn);
    }
    const closed = await Promise.all(
      conns.splice(0).map(async (conn) => {
        const started = Date.now();
        const timer = setTimeout(() => quietly(() => conn.close()), 5000);
        try {
          while (await conn.read(new Uint8Array(1024)) !== null);
          return Date.now() - started;
        } catch {
          return undefined;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    assert.ok(closed.every((ms) => ms !== undefined && ms < 3000), `closed after ${closed} ms`);

    if (PRLIMIT === undefined) {
      console.log("skip: the EMFILE part needs prlimit (util-linux)");
      return;
    }
    await starveDescriptors(receiver.listenerPid, () => Deno.connect({ transport: "unix", path }));
    const back = await until(async () => (await health()).startsWith("200"), 8000);
    assert.ok(await alive(receiver.listenerPid), `the listener exited:\n${receiver.stderr()}`);
    assert.ok(back, `the listener accepts no more: ${await health()}`);
    assert.equal((await Deno.lstat(path)).mode! & 0o777, 0o660);
  } finally {
    for (const conn of conns) quietly(() => conn.close());
    await receiver.stop();
    await Deno.remove(stateDir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("socket activation: the listener serves on a socket systemd hands it, with no grant to listen", async () => {
  const activate = findTool("systemd-socket-activate");
  if (activate === undefined) {
    console.log("skip: needs systemd-socket-activate (systemd) to hand the listener a socket");
    return;
  }
  const fakes = await fakeBin();
  await fakes.write("sensors", `printf '{}'`);
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-activate-" });
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--bin-path",
    `${fakes.dir}:${SYSTEM}`,
  ]);
  const children: Deno.ChildProcess[] = [];
  try {
    const config = { ...serverDefaults(stateDir), socket: `${stateDir}/executor.sock` };
    const command = buildListenerCommand({
      config,
      denoPath: Deno.execPath(),
      entryPath: LISTENER.bundle,
      listenFd: 3,
    });
    // Its only net grant is the executor's socket: no address, no port, no listen path.
    assert.deepEqual(
      command.denoFlags.filter((f) => /^--allow-(net|read|write|sys)/.test(f)),
      [
        `--allow-net=unix:${config.socket}`,
        `--allow-read=${config.socket}`,
        `--allow-write=${config.socket}`,
      ],
    );
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const path = `${stateDir}/activated.sock`;
    for (const address of [`127.0.0.1:${port}`, path]) {
      const child = new Deno.Command(activate, {
        args: ["-l", address, command.command, ...command.args],
        clearEnv: true,
        env: { ...command.env },
        stdout: "null",
        stderr: "piped",
      }).spawn();
      children.push(child);
      const tcp = !address.startsWith("/");
      const ready = await until(async () => {
        if (tcp) return true;
        return (await Deno.lstat(address).catch(() => undefined))?.isSocket ?? false;
      }, 5000);
      assert.ok(ready);
      await sleep(300); // systemd-socket-activate binds before it execs the listener
      const send = tcp ? fetch : unixFetch(address);
      const url = tcp ? `http://${address}` : "http://localhost";
      const response = await send(
        await signedRequest(`${url}/hooks/sensors`, {
          secret: receiver.secret,
          body: "{}",
          headers: { prefer: "wait=10" },
        }),
      );
      const job = await response.json();
      assert.equal(`${response.status} ${job.status}`, "200 succeeded", JSON.stringify(job));
    }
  } finally {
    for (const child of children) {
      quietly(() => child.kill("SIGKILL"));
      await child.stderr.cancel();
      await child.status;
    }
    await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});
