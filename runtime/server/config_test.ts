import assert from "node:assert/strict";
import { parseServerConfig, type ServerConfig } from "./config.ts";

const none = () => undefined;

Deno.test("parseServerConfig() defaults to loopback:8787 and ./.rootfence", () => {
  assert.deepEqual(parseServerConfig([], none, "/srv/app"), {
    host: "127.0.0.1",
    port: 8787,
    stateDir: "/srv/app/.rootfence",
    socket: "/srv/app/.rootfence/executor.sock",
    listenerUser: "nobody",
    keysFile: "/srv/app/.rootfence/keys.json",
    binPath: "/usr/sbin:/usr/bin:/sbin:/bin",
    settings: { mountBase: "/mnt/usb" },
    runner: "direct",
    sudoPath: "/usr/bin/sudo",
    maxRunning: 4,
    maxQueued: 64,
    graceMs: 30_000,
    poolSize: 4,
    poolUses: 10_000,
    poolIdleMs: 300_000,
    retentionMs: 400 * 86_400_000,
    retentionJobs: 600_000,
    maxConnections: 1024,
    headerTimeoutMs: 10_000,
    bodyTimeoutMs: 10_000,
    metricsMaxAgeMs: { smart: 300_000, sensors: 30_000 },
  });
});

Deno.test("parseServerConfig() reads --metrics-max-age for both reads or for each", () => {
  const ages = (text: string) =>
    (parseServerConfig([`--metrics-max-age=${text}`], none, "/") as ServerConfig).metricsMaxAgeMs;
  assert.deepEqual(ages("60"), { smart: 60_000, sensors: 60_000 });
  assert.deepEqual(ages("smart=900"), { smart: 900_000, sensors: 30_000 });
  assert.deepEqual(ages("sensors=5, smart=0"), { smart: 0, sensors: 5_000 });
  for (const bad of ["", "smart", "smart=", "disk=5", "smart=5;sensors=5", "86401", "-1"]) {
    assert.throws(() => ages(bad), RangeError, bad);
  }
});

Deno.test("parseServerConfig() takes ROOTFENCE_* variables and lets flags win", () => {
  const env = (name: string) =>
    ({ ROOTFENCE_PORT: "9000", ROOTFENCE_STATE_DIR: "/var/lib/rf", ROOTFENCE_RUNNER: "sudo" })[
      name
    ];
  const config = parseServerConfig(["--port", "9100", "--keys-file", "k.json"], env, "/etc/rf");
  assert.ok(config !== "help");
  assert.equal(config.port, 9100);
  assert.equal(config.stateDir, "/var/lib/rf");
  assert.equal(config.keysFile, "/etc/rf/k.json");
  assert.equal(config.runner, "sudo");
});

Deno.test("parseServerConfig() refuses bad values and unknown flags", () => {
  const bad = [
    ["--port", "70000"],
    ["--runner", "ssh"],
    ["--max-running", "0"],
    ["--grace=-1"],
    ["--host", "a b"],
  ];
  for (const args of bad) {
    assert.throws(() => parseServerConfig(args, none, "/"), RangeError, args.join(" "));
  }
  assert.throws(() => parseServerConfig(["--bogus"], none, "/"), TypeError);
  assert.equal(parseServerConfig(["--help"], none, "/"), "help");
});

Deno.test("parseServerConfig() refuses a listener user that is not a user name", () => {
  assert.throws(() => parseServerConfig(["--listener-user", "root;id"], none, "/"), RangeError);
  assert.equal(
    (parseServerConfig(["--socket", "run/x.sock"], none, "/srv") as { socket: string }).socket,
    "/srv/run/x.sock",
  );
});

Deno.test("parseServerConfig() sizes the pool to --max-running unless --pool-size says otherwise", () => {
  const parse = (args: string[]) => parseServerConfig(args, () => undefined, "/") as ServerConfig;
  assert.equal(parse(["--max-running", "2"]).poolSize, 2);
  assert.equal(parse(["--max-running", "2", "--pool-size", "1"]).poolSize, 1);
  assert.equal(parse(["--max-running", "200"]).poolSize, 64);
  assert.equal(
    (parseServerConfig(
      [],
      (name) => name === "ROOTFENCE_POOL_SIZE" ? "0" : undefined,
      "/",
    ) as ServerConfig).poolSize,
    0,
  );
});

Deno.test("parseServerConfig() takes --listen unix:<path>, --cert and --key, each checked", () => {
  const unix = parseServerConfig(["--listen", "unix:run/listener.sock"], none, "/srv/app");
  assert.ok(unix !== "help");
  assert.equal(unix.listenPath, "/srv/app/run/listener.sock");
  assert.equal(unix.cert, undefined);
  const tls = parseServerConfig(["--cert", "tls.pem", "--key", "/etc/rf/tls.key"], none, "/srv");
  assert.ok(tls !== "help");
  assert.deepEqual([tls.cert, tls.key, tls.listenPath], [
    "/srv/tls.pem",
    "/etc/rf/tls.key",
    undefined,
  ]);
  const env = (name: string) => ({ ROOTFENCE_LISTEN: "unix:/run/x.sock" })[name];
  const fromEnv = parseServerConfig([], env, "/");
  assert.ok(fromEnv !== "help");
  assert.equal(fromEnv.listenPath, "/run/x.sock");
  const refused: [string[], RegExp][] = [
    [["--listen", "unix:/run/x.sock", "--port", "8787"], /with --port/],
    [["--listen", "unix:/run/x.sock", "--host", "::1"], /with --host/],
    [["--listen", "127.0.0.1:8787"], /give unix:<path>/],
    [["--listen", "unix:/run/a,b.sock"], /commas/],
    [["--listen", `unix:/run/${"x".repeat(100)}.sock`], /100 bytes at most/],
    [["--cert", "/etc/rf/tls.pem"], /--cert and --key together/],
    [["--key", "/etc/rf/tls.key"], /--cert and --key together/],
    [["--cert", "/a.pem", "--key", "/b,c.key"], /commas/],
    [["--cert", "/a.pem", "--key", "/a.key", "--listen", "unix:/run/x.sock"], /TLS needs a TCP/],
  ];
  for (const [args, expected] of refused) {
    assert.throws(() => parseServerConfig(args, none, "/"), expected, args.join(" "));
  }
});
