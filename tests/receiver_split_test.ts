/**
 * The receiver is two processes: a listener that parses HTTP and holds nothing it could abuse,
 * and an executor with no IP network that trusts only what it verifies itself. These tests run
 * the attacks of a compromised listener for real.
 */
import assert from "node:assert/strict";
import { signedRequest } from "../runtime/cli/client.ts";
import { LISTENER, projectPath } from "../runtime/paths.ts";
import {
  BridgeReply,
  bridgeRequest,
  forwardedHeaders,
  fromBase64,
} from "../runtime/server/bridge.ts";
import { serverDefaults } from "../runtime/server/config.ts";
import { buildExecutorCommand, buildListenerCommand } from "../runtime/server/receiver_commands.ts";
import { LineReader } from "../runtime/process/lines.ts";
import { receiverProbeProblems, runReceiverProbe } from "../runtime/audit/receiver_live.ts";
import { fakeBin, shQuote } from "./_fakes.ts";
import { startReceiver, startToExit } from "./_receiver.ts";
import { denoCopy } from "./_deno_copy.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";
Deno.test("the listener's flags refuse every run (no deno eval -A), files, env and other hosts", async () => {
  const stateDir = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence-listener-" }));
  try {
    const config = { ...serverDefaults(stateDir), port: 58789 };
    const command = buildListenerCommand({
      config,
      denoPath: await Deno.realPath(Deno.execPath()),
      entryPath: LISTENER.bundle,
    });
    const results = await runReceiverProbe(command, {
      stateDir,
      socket: config.socket,
      port: 58789,
    });
    assert.deepEqual(receiverProbeProblems("listener", results), []);
    // The attack on the old receiver flags: Deno's run grant is --allow-all.
    assert.match(results["run deno eval -A"]!, /^NotCapable: Requires run access/);
    assert.match(results["read state dir"]!, /^NotCapable: Requires read access/);
    assert.equal(results["listen port"], "allowed");

    // Control: the same probe under the old receiver's grant gets root through deno eval -A.
    const oldGrant = `--allow-run=${command.command}`;
    const old = {
      ...command,
      args: ["run", oldGrant, ...command.args.slice(1)],
      denoFlags: ["run", oldGrant, ...command.denoFlags.slice(1)],
    };
    const escaped = await runReceiverProbe(old, { stateDir, socket: config.socket, port: 58789 });
    assert.equal(escaped["run deno eval -A"], "allowed");
    assert.match(receiverProbeProblems("listener", escaped).join("\n"), /deno eval -A/);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("the executor's flags refuse every IP address, other files, env and other binaries", async () => {
  const stateDir = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence-executor-" }));
  try {
    const config = { ...serverDefaults(stateDir), port: 58790 };
    const command = buildExecutorCommand({
      config,
      denoPath: await Deno.realPath(Deno.execPath()),
      configPath: projectPath("deno.json"),
      lockPath: projectPath("deno.lock"),
      entryPath: projectPath("runtime/server/executor.ts"),
      killPath: "/usr/bin/kill",
      binaries: {},
      denoDir: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      readFiles: [],
    });
    const results = await runReceiverProbe(command, {
      stateDir,
      socket: config.socket,
      port: 58790,
    });
    assert.deepEqual(receiverProbeProblems("executor", results), []);
    assert.match(results["listen port"]!, /^NotCapable: Requires net access/);
    assert.equal(results["listen unix socket"], "allowed");
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

/** Talks to the executor's socket the way a compromised listener would. */
async function asListener(socket: string, line: string): Promise<BridgeReply[]> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  const bytes = new TextEncoder().encode(line);
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
  const replies: BridgeReply[] = [];
  const lines = new LineReader(conn.readable, 1 << 20);
  for (let next = await lines.next(); next !== undefined; next = await lines.next()) {
    if ("tooLong" in next) throw new Error("oversized reply");
    const reply = BridgeReply.parse(JSON.parse(next.line));
    replies.push(reply);
    if ("end" in reply || "body" in reply) break;
  }
  try {
    conn.close();
  } catch {
    // the executor closed it
  }
  return replies;
}

function bodyOf(replies: BridgeReply[]): string {
  const chunks = replies.flatMap((r) =>
    "chunk" in r ? [fromBase64(r.chunk)] : "body" in r ? [fromBase64(r.body)] : []
  );
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}

async function forged(request: Request, body?: string): Promise<string> {
  const url = new URL(request.url);
  const raw = new TextEncoder().encode(body ?? await request.text());
  const headers = forwardedHeaders([...request.headers].flat());
  return JSON.stringify(bridgeRequest(request.method, url.pathname, headers, raw)) + "\n";
}

Deno.test("a compromised listener can forge nothing: the executor verifies every forwarded byte", async () => {
  const fakes = await fakeBin();
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-split-" });
  await fakes.write("smartctl", `printf '%s' ${shQuote('{"smartctl":{"exit_status":0}}')}`);
  const receiver = await startReceiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM}`]);
  const socket = `${await Deno.realPath(stateDir)}/executor.sock`;
  try {
    const url = `${receiver.url}/hooks/smart`;
    const body = JSON.stringify({ device: "/dev/sda" });
    const sign = (id: string) => signedRequest(url, { secret: receiver.secret, body, id });

    const unsigned = await asListener(
      socket,
      await forged(
        new Request(url, { method: "POST", body, headers: { "content-type": "application/json" } }),
      ),
    );
    assert.equal("status" in unsigned[0]! && unsigned[0].status, 401);

    const tampered = await asListener(
      socket,
      await forged(await sign("split-1"), JSON.stringify({ device: "/dev/sdb" })),
    );
    assert.equal("status" in tampered[0]! && tampered[0].status, 401);
    assert.match(bodyOf(tampered), /signature_invalid/);

    // Outside the schema (an extra field, a bad method): the executor answers nothing at all.
    const line = JSON.parse(await forged(await sign("split-2")));
    assert.deepEqual(await asListener(socket, JSON.stringify({ ...line, admin: true }) + "\n"), []);
    assert.deepEqual(
      await asListener(socket, JSON.stringify({ ...line, method: "TRACE" }) + "\n"),
      [],
    );
    assert.deepEqual(await asListener(socket, "x".repeat(300_000) + "\n"), []);

    // A replay of what a key really signed is the same job, run once.
    const captured = await forged(await sign("split-3"));
    const first = await asListener(socket, captured);
    const again = await asListener(socket, captured);
    assert.equal("status" in first[0]! && first[0].status, 202);
    const head = again[0]!;
    assert.ok(
      "status" in head &&
        head.headers.some(([k, v]) => k === "idempotent-replayed" && v === "true"),
    );
    assert.equal(JSON.parse(bodyOf(first)).jobId, JSON.parse(bodyOf(again)).jobId);
    const ran = async () => (await fakes.calls("smartctl")).length;
    for (let i = 0; i < 100 && await ran() < 1; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await ran(), 1);
  } finally {
    await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

async function uidOf(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
}

async function canAsNobody(args: string[]): Promise<boolean> {
  try {
    const output = await new Deno.Command("test", { args, uid: 65534, gid: 65534 }).output();
    return output.code === 0;
  } catch {
    return false;
  }
}

Deno.test("a root starter runs the listener as an unprivileged user, and it serves signed requests", async () => {
  if (Deno.uid() !== 0) {
    console.log("skip: switching the listener's user needs a root starter");
    return;
  }
  if (!await canAsNobody(["-r", LISTENER.bundle])) {
    console.log(`skip: user nobody cannot read ${LISTENER.bundle} (a directory above is closed)`);
    return;
  }
  const copy = await denoCopy();
  const deno = copy.deno;
  const fakes = await fakeBin();
  await fakes.write("smartctl", `printf '%s' ${shQuote('{"smartctl":{"exit_status":0}}')}`);
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-split-user-" });
  const receiver = await startReceiver(
    stateDir,
    ["--bin-path", `${fakes.dir}:${SYSTEM}`, "--listener-user", "nobody"],
    { deno },
  );
  try {
    assert.equal(await uidOf(receiver.listenerPid), 65534, receiver.stderr());
    assert.equal(await uidOf(receiver.pid), 0);
    const socket = await Deno.lstat(`${stateDir}/executor.sock`);
    assert.equal(socket.mode! & 0o777, 0o660);
    assert.equal(socket.gid, 65534);
    assert.equal((await Deno.stat(stateDir)).mode! & 0o777, 0o711);
    const job = await (await receiver.send("smart", { device: "/dev/sda" }, { wait: 10 })).json();
    assert.equal(job.status, "succeeded", JSON.stringify(job));

    // A second start on the same state dir is refused before it changes anything: it would
    // otherwise close the dir back to 0700 and cut the running listener off its socket.
    const second = await startToExit(stateDir, ["--listener-user", "root"], { deno });
    assert.equal(second.code, 1);
    assert.match(second.stderr, /another rootfence executor is running/);
    assert.equal((await Deno.stat(stateDir)).mode! & 0o777, 0o711);
    const still = await (await receiver.send("smart", { device: "/dev/sdb" }, { wait: 10 })).json();
    assert.equal(still.status, "succeeded", JSON.stringify(still));
  } finally {
    await receiver.stop();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
    await copy.remove();
  }
});

Deno.test("when the listener cannot switch users it says so in one line and still holds no run grant", async () => {
  if (Deno.uid() !== 0) {
    console.log("skip: only a root starter switches the listener's user");
    return;
  }
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-split-root-" });
  const receiver = await startReceiver(stateDir, ["--listener-user", "rfnosuchuser"]);
  try {
    const said = receiver.stderr().split("\n").filter((l) => l.includes("listener runs as root"));
    assert.deepEqual(said, [
      'rootfence: the listener runs as root: no user "rfnosuchuser"; give --listener-user a ' +
      "user that can (see README: Deployment)",
    ]);
    const cmdline = (await Deno.readTextFile(`/proc/${receiver.listenerPid}/cmdline`)).split("\0");
    assert.ok(cmdline.includes(LISTENER.bundle), cmdline.join(" "));
    const grants = cmdline.filter((a) => a.startsWith("--allow-") || a === "-A");
    assert.deepEqual(grants.map((g) => g.split("=")[0]), [
      "--allow-net",
      "--allow-read",
      "--allow-write",
    ]);
    assert.ok(grants.slice(1).every((g) => g.endsWith("/executor.sock")), grants.join(" "));
    assert.equal((await Deno.stat(stateDir)).mode! & 0o777, 0o700);
  } finally {
    await receiver.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("an unsafe mount base is named at start and mount-usb is refused through the receiver", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-split-base-" });
  const base = `${await Deno.realPath(stateDir)}-base`;
  await Deno.mkdir(base, { mode: 0o777 });
  await Deno.chmod(base, 0o777);
  const receiver = await startReceiver(stateDir, ["--mount-base", base]);
  try {
    assert.match(
      receiver.stderr(),
      /mount-usb is refused until the mount base is fixed: .*writable/,
    );
    const job = await (await receiver.send("mount-usb", {
      uuid: "bac44334-c03f-49b1-9e0e-801902c005a2",
      target: `${base}/disk`,
      fsType: "ext4",
    }, { wait: 10 })).json();
    assert.equal(job.status, "failed", JSON.stringify(job));
    assert.equal(job.result.error.code, "mount_base_unsafe");
    assert.deepEqual([...Deno.readDirSync(base)], []);
  } finally {
    await receiver.stop();
    await Deno.remove(stateDir, { recursive: true });
    await Deno.remove(base, { recursive: true });
  }
});
