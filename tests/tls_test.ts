/**
 * TLS on a real receiver, with self-signed certificates `openssl` makes in the test: signed
 * triggers over HTTPS, the certificate swapped by SIGHUP while a keep-alive connection and jobs
 * are in flight, bad pairs refused in one line (at start, and at a reload with the old pair
 * kept), and the handshake held to the same deadlines and cap as plain HTTP.
 */
import assert from "node:assert/strict";
import tls from "node:tls";
import { serverDefaults } from "../runtime/server/config.ts";
import { buildListenerCommand } from "../runtime/server/receiver_commands.ts";
import { LISTENER } from "../runtime/paths.ts";
import { loadTlsPair } from "../runtime/server/tls_pair.ts";
import { type Cert, makeCert, opensslMissing, peerFingerprint } from "./_certs.ts";
import { fakeBin } from "./_fakes.ts";
import { startReceiver, startToExit } from "./_receiver.ts";
import { closedWithin, fdCount, quietly, sleep } from "./_watch.ts";
import { denoCopy } from "./_deno_copy.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";
const missing = await opensslMissing();

/** Runs a TLS test, or says why it cannot run here. */
function tlsTest(name: string, fn: () => Promise<void>): void {
  Deno.test(name, async () => {
    if (missing !== undefined) return void console.log(`skip: ${missing}`);
    await fn();
  });
}

/** Copies a pair to where the receiver reads it, each file replaced whole (a rename). */
async function install(pair: { cert: string; key: string }, to: Cert): Promise<void> {
  const files = [[pair.cert, to.cert, 0o644], [pair.key, to.key, 0o600]] as const;
  for (const [from, path, mode] of files) {
    await Deno.writeFile(`${path}.new`, await Deno.readFile(from), { mode });
    await Deno.chmod(`${path}.new`, mode);
    await Deno.rename(`${path}.new`, path);
  }
}

/** A keep-alive TLS connection that sends `GET /healthz` on demand. */
async function keepAlive(port: number) {
  const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
  await new Promise((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });
  let received = "";
  socket.on("data", (chunk: Uint8Array) => (received += new TextDecoder().decode(chunk)));
  return {
    fingerprint: socket.getPeerCertificate().fingerprint256,
    async get(): Promise<string> {
      const before = received.length;
      socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      for (let i = 0; i < 100 && !received.slice(before).includes("}"); i++) await sleep(20);
      return received.slice(before).split("\r\n")[0] ?? "";
    },
    close: () => socket.destroy(),
  };
}

tlsTest("loadTlsPair() refuses a pair a listener must not serve, each in one line", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence-tls-pair-" }));
  try {
    const a = await makeCert(dir, "a");
    const b = await makeCert(dir, "b");
    const old = await makeCert(dir, "old", { expired: true });
    // Both load and match their certificate; neither can serve a handshake in Deno's TLS.
    const k1 = await makeCert(dir, "k1", {
      newKey: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
    });
    const rsa1024 = await makeCert(dir, "rsa1024", { newKey: ["-newkey", "rsa:1024"] });
    const uid = Deno.uid()!;
    await Deno.writeTextFile(`${dir}/junk.pem`, "-----BEGIN CERTIFICATE-----\njunk\n");
    await Deno.writeTextFile(`${dir}/junk.key`, "-----BEGIN PRIVATE KEY-----\njunk\n");
    await Deno.chmod(`${dir}/junk.key`, 0o600);
    await Deno.symlink(a.key, `${dir}/link.key`);
    await Deno.writeFile(`${dir}/open.key`, await Deno.readFile(a.key));
    await Deno.chmod(`${dir}/open.key`, 0o640);
    const cases: [string, string, number, RegExp][] = [
      [`${dir}/junk.pem`, a.key, uid, /not a PEM certificate/],
      [a.cert, `${dir}/junk.key`, uid, /not an unencrypted PEM private key/],
      [a.cert, b.key, uid, /is not the key of certificate/],
      [old.cert, old.key, uid, /expired on 2020-01-02/],
      [a.cert, `${dir}/link.key`, uid, /it is a symlink/],
      [a.cert, `${dir}/open.key`, uid, /mode 640 lets group or others read/],
      [a.cert, a.key, uid + 1, /owned by uid \d+, not by uid \d+ that the listener runs as/],
      [a.cert, dir, uid, /not a regular file/],
      [`${dir}/none.pem`, a.key, uid, /Cannot read TLS certificate/],
      [k1.cert, k1.key, uid, /an EC key on secp256k1; use prime256v1/],
      [rsa1024.cert, rsa1024.key, uid, /an RSA key of 1024 bits; use 2048 or more/],
    ];
    for (const [cert, key, owner, expected] of cases) {
      await assert.rejects(loadTlsPair(cert, key, owner), (error: Error) => {
        assert.match(error.message, expected);
        assert.ok(!error.message.includes("\n"), error.message);
        return true;
      });
    }
    // The control: the good pair, and a certificate reached through a symlink (certbot's live/).
    await Deno.symlink(a.cert, `${dir}/live.pem`);
    const pair = await loadTlsPair(`${dir}/live.pem`, a.key, uid);
    assert.equal(pair.fingerprint, a.fingerprint);
    const rsa = await makeCert(dir, "rsa", { newKey: ["-newkey", "rsa:2048"] });
    assert.equal((await loadTlsPair(rsa.cert, rsa.key, uid)).fingerprint, rsa.fingerprint);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

tlsTest("a signed trigger over HTTPS with a certificate made in the test runs its op", async () => {
  const fakes = await fakeBin();
  await fakes.write("sensors", `printf '{"coretemp-isa-0000":{}}'`);
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-tls-run-" });
  const a = await makeCert(stateDir, "a");
  const client = Deno.createHttpClient({ caCerts: [a.pem] });
  const receiver = await startReceiver(stateDir, [
    "--listener-user",
    "root",
    "--bin-path",
    `${fakes.dir}:${SYSTEM}`,
    "--cert",
    a.cert,
    "--key",
    a.key,
  ], { fetch: (request) => fetch(request, { client }) });
  try {
    assert.match(receiver.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(receiver.lines.find((l) => l.kind === "listening")?.tls, a.fingerprint);
    const response = await receiver.send("sensors", {}, { wait: 10 });
    const job = await response.json();
    assert.equal(`${response.status} ${job.status}`, "200 succeeded", JSON.stringify(job));
    assert.equal((await fakes.calls("sensors")).length, 1);
    // Plain HTTP on the TLS port gets no answer at all.
    const plain = await fetch(receiver.url.replace("https:", "http:") + "/healthz")
      .then((r) => `${r.status}`, (e) => e.constructor.name);
    assert.notEqual(plain, "200");
  } finally {
    await receiver.stop();
    client.close();
    await fakes.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
});

tlsTest(
  "SIGHUP swaps the certificate for new connections; open connections and jobs go on; a bad pair is refused",
  async () => {
    const fakes = await fakeBin();
    await fakes.write("sensors", "sleep 2; printf '{}'");
    const stateDir = await Deno.makeTempDir({ prefix: "rootfence-tls-reload-" });
    const a = await makeCert(stateDir, "a");
    const b = await makeCert(stateDir, "b");
    const serving = { ...a, cert: `${stateDir}/serving.pem`, key: `${stateDir}/serving.key` };
    await install(a, serving);
    const client = Deno.createHttpClient({ caCerts: [a.pem, b.pem] });
    const receiver = await startReceiver(stateDir, [
      "--listener-user",
      "root",
      "--bin-path",
      `${fakes.dir}:${SYSTEM}`,
      "--header-timeout",
      "30",
      "--cert",
      serving.cert,
      "--key",
      serving.key,
    ], { fetch: (request) => fetch(request, { client }) });
    const port = Number(new URL(receiver.url).port);
    const kept = await keepAlive(port);
    const lines = (kind: string) => receiver.lines.filter((line) => line.kind === kind);
    const hangUp = async (kind: string) => {
      const before = lines(kind).length;
      Deno.kill(receiver.starterPid, "SIGHUP");
      for (let i = 0; i < 200 && lines(kind).length === before; i++) await sleep(25);
      return lines(kind)[before];
    };
    try {
      assert.equal(kept.fingerprint, a.fingerprint);
      assert.equal(await kept.get(), "HTTP/1.1 200 OK");
      // Jobs in flight across the reload, each waiting for its answer on its own connection.
      const jobs = [1, 2, 3].map(() =>
        receiver.send("sensors", {}, { wait: 30 }).then(
          async (r) => `${r.status} ${(await r.json()).status}`,
          (e) => String(e),
        )
      );
      await sleep(500);

      await install(b, serving);
      const reloaded = await hangUp("tls_reloaded");
      assert.equal(
        reloaded?.fingerprint,
        b.fingerprint,
        JSON.stringify(lines("tls_reload_failed")),
      );
      // The executor got the same SIGHUP and reloads its keys.
      for (let i = 0; i < 200 && lines("keys_reloaded").length === 0; i++) await sleep(25);
      assert.equal(lines("keys_reloaded").length, 1);
      assert.equal(await peerFingerprint(port), b.fingerprint);
      const onlyA = Deno.createHttpClient({ caCerts: [a.pem] });
      const refused = await fetch(`${receiver.url}/healthz`, { client: onlyA })
        .then((r) => `${r.status}`, (e) => e.constructor.name);
      onlyA.close();
      assert.notEqual(refused, "200", "a new connection still got certificate A");
      // The connection opened before the swap still serves, on the certificate it started with.
      assert.equal(await kept.get(), "HTTP/1.1 200 OK");
      assert.deepEqual(await Promise.all(jobs), [
        "200 succeeded",
        "200 succeeded",
        "200 succeeded",
      ]);

      // A key that is not the certificate's: refused in one line, certificate B stays.
      await install({ cert: a.cert, key: b.key }, serving);
      const failed = await hangUp("tls_reload_failed");
      assert.match(String(failed?.message), /is not the key of certificate/);
      assert.equal(await peerFingerprint(port), b.fingerprint);
      const health = await receiver.fetch(`${receiver.url}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    } finally {
      kept.close();
      await receiver.stop();
      client.close();
      await fakes.remove();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
);

tlsTest(
  "TLS handshakes that never complete are closed at the header deadline, and the cap holds them too",
  async () => {
    // Defect guarded: a TLS layer of node:https's own, in front of the guard's accounting, would
    // let a client that never finishes its handshake hold a connection for ever.
    const stateDir = await Deno.makeTempDir({ prefix: "rootfence-tls-hostile-" });
    const a = await makeCert(stateDir, "a");
    const client = Deno.createHttpClient({ caCerts: [a.pem] });
    const receiver = await startReceiver(stateDir, [
      "--listener-user",
      "root",
      "--header-timeout",
      "1",
      "--body-timeout",
      "1",
      "--max-connections",
      "20",
      "--cert",
      a.cert,
      "--key",
      a.key,
    ], { fetch: (request) => fetch(request, { client }) });
    const port = Number(new URL(receiver.url).port);
    const conns: Deno.Conn[] = [];
    try {
      // Silent sockets, and sockets that stop halfway through a ClientHello record.
      const partialHello = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]);
      for (let i = 0; i < 10; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        if (i % 2) await conn.write(partialHello);
        conns.push(conn);
      }
      // A finished handshake, then no request at all.
      const silent = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [a.pem] });
      await silent.handshake();
      conns.push(silent);
      const closed = await Promise.all(conns.splice(0).map((conn) => closedWithin(conn, 5000)));
      assert.ok(closed.every((ms) => ms !== undefined && ms < 3000), `closed after ${closed} ms`);

      // A body that stops coming over TLS: closed at the body deadline.
      const body = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [a.pem] });
      conns.push(body);
      await body.write(
        new TextEncoder().encode(
          "POST /hooks/sensors HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{",
        ),
      );
      const bodyMs = await closedWithin(body, 5000);
      assert.ok(bodyMs !== undefined && bodyMs < 3000, `body still open after ${bodyMs} ms`);

      // Over the cap: idle sockets make way, descriptors stay bounded, a real client gets in.
      const before = fdCount(receiver.listenerPid);
      const burst = Date.now();
      for (let i = 0; i < 100; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      // Closing the oldest to make way lags the accepts on a loaded machine, so the count may take
      // a moment to come down; it must while no connection is old enough for the header deadline
      // (1 s) to have closed it, so only the cap can have.
      let held = fdCount(receiver.listenerPid) - before;
      while (held > 25 && Date.now() - burst < 800) {
        await sleep(50);
        held = fdCount(receiver.listenerPid) - before;
      }
      assert.ok(held <= 25, `the listener holds ${held} more descriptors for 100 connections`);
      const answers = [];
      for (let i = 0; i < 3; i++) {
        const response = await receiver.fetch(`${receiver.url}/healthz`);
        await response.body?.cancel();
        answers.push(response.status);
      }
      assert.deepEqual(answers, [200, 200, 200]);
    } finally {
      for (const conn of conns) quietly(() => conn.close());
      await receiver.stop();
      client.close();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
);

tlsTest(
  "a bad key fails the start in one line, before anything starts; the listener alone refuses it too",
  async () => {
    const stateDir = await Deno.makeTempDir({ prefix: "rootfence-tls-refused-" });
    try {
      const a = await makeCert(stateDir, "a");
      await Deno.chmod(a.key, 0o644);
      const output = await startToExit(stateDir, [
        "--listener-user",
        "root",
        "--cert",
        a.cert,
        "--key",
        a.key,
      ]);
      const stderr = output.stderr.trim().split("\n");
      assert.equal(output.code, 1);
      assert.match(
        stderr.at(-1)!,
        /^rootfence: Cannot trust TLS key ".*a\.key": mode 644 .*chmod 600/,
      );
      assert.ok(!stderr.some((line) => /receiver on|listener ended/.test(line)), stderr.join("\n"));
      assert.equal(output.stdout, "", "the executor started");

      // Under systemd there is no starter: the listener checks the same on its own.
      const config = { ...serverDefaults(stateDir), port: 0, cert: a.cert, key: a.key };
      const command = buildListenerCommand({
        config,
        denoPath: Deno.execPath(),
        entryPath: LISTENER.bundle,
      });
      const alone = await new Deno.Command(command.command, {
        args: [...command.args],
        clearEnv: true,
        env: { ...command.env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const line = new TextDecoder().decode(alone.stderr).trim();
      assert.equal(alone.code, 1);
      assert.match(line, /^rootfence: Cannot trust TLS key ".*a\.key": mode 644/);
      assert.ok(!line.includes("\n"), line);
    } finally {
      await Deno.remove(stateDir, { recursive: true });
    }
  },
);

tlsTest(
  "a root starter's listener running as nobody serves a key nobody owns, and refuses root's",
  async () => {
    if (Deno.uid() !== 0) return void console.log("skip: switching the listener's user needs root");
    const readable = await new Deno.Command("test", {
      args: ["-r", LISTENER.bundle],
      uid: 65534,
      gid: 65534,
    }).output().then((o) => o.code === 0, () => false);
    if (!readable) return void console.log(`skip: user nobody cannot read ${LISTENER.bundle}`);
    const copy = await denoCopy();
    const deno = copy.deno;
    const stateDir = await Deno.makeTempDir({ prefix: "rootfence-tls-nobody-" });
    const tlsDir = await Deno.makeTempDir({ prefix: "rootfence-tls-nobody-files-" });
    await Deno.chmod(tlsDir, 0o755);
    try {
      const a = await makeCert(tlsDir, "a");
      const b = await makeCert(tlsDir, "b");
      // Root's key: the listener, as nobody, would read a key it does not own.
      const refused = await startToExit(
        stateDir,
        ["--listener-user", "nobody", "--cert", a.cert, "--key", a.key],
        { deno },
      );
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /rootfence: Cannot trust TLS key ".*a\.key": it is owned by uid 0, not by uid 65534 that the listener runs as/,
      );
      for (const key of [a.key, b.key]) await Deno.chown(key, 65534, 65534);
      const serving = { ...a, cert: `${tlsDir}/serving.pem`, key: `${tlsDir}/serving.key` };
      await install(a, serving);
      await Deno.chown(serving.key, 65534, 65534);
      const client = Deno.createHttpClient({ caCerts: [a.pem, b.pem] });
      const receiver = await startReceiver(
        stateDir,
        ["--listener-user", "nobody", "--cert", serving.cert, "--key", serving.key],
        { deno, fetch: (request) => fetch(request, { client }) },
      );
      try {
        const status = await Deno.readTextFile(`/proc/${receiver.listenerPid}/status`);
        assert.match(status, /^Uid:\s+65534\b/m, receiver.stderr());
        const health = await receiver.fetch(`${receiver.url}/healthz`);
        assert.equal(health.status, 200);
        await health.body?.cancel();
        // A reload, as nobody, of a pair nobody owns.
        await install(b, serving);
        await Deno.chown(serving.key, 65534, 65534);
        Deno.kill(receiver.starterPid, "SIGHUP");
        let reloaded;
        for (let i = 0; i < 200 && reloaded === undefined; i++) {
          reloaded = receiver.lines.find((l) => /^tls_reload/.test(String(l.kind)));
          await sleep(25);
        }
        assert.equal(reloaded?.fingerprint, b.fingerprint, JSON.stringify(reloaded));
        assert.equal(await peerFingerprint(Number(new URL(receiver.url).port)), b.fingerprint);
      } finally {
        await receiver.stop();
        client.close();
      }
    } finally {
      await Deno.remove(stateDir, { recursive: true });
      await Deno.remove(tlsDir, { recursive: true });
      await copy.remove();
    }
  },
);
