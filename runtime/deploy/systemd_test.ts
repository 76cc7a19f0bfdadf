import assert from "node:assert/strict";
import { serverDefaults } from "../server/config.ts";
import { buildExecutorCommand, buildListenerCommand } from "../server/receiver_commands.ts";
import { rateUnits, type SocketActivation, systemdUnits, unitWord } from "./systemd.ts";

const config = (runner: "sudo" | "direct") => ({
  ...serverDefaults("/var/lib/rootfence"),
  runner,
  socket: "/run/rootfence/executor.sock",
});

const executor = (runner: "sudo" | "direct") =>
  buildExecutorCommand({
    config: config(runner),
    denoPath: "/bin/true",
    configPath: "/opt/rootfence/deno.json",
    lockPath: "/opt/rootfence/deno.lock",
    entryPath: "/opt/rootfence/runtime/server/executor.ts",
    killPath: "/usr/bin/kill",
    binaries: { smartctl: "/usr/sbin/smartctl" },
    denoDir: "/var/cache/rootfence/deno",
    readFiles: ["/var/lib/rootfence/keys.json"],
    socketGroup: 998,
  });

const listener = (runner: "sudo" | "direct") =>
  buildListenerCommand({
    config: config(runner),
    denoPath: "/bin/true",
    entryPath: "/opt/rootfence/dist/listener.js",
  });

function units(mode: "sudo" | "direct", activation?: SocketActivation) {
  return systemdUnits({
    mode,
    user: "rootfence",
    listenerUser: "rootfence-http",
    executor: executor(mode),
    listener: activation === undefined ? listener(mode) : buildListenerCommand({
      config: config(mode),
      denoPath: "/bin/true",
      entryPath: "/opt/rootfence/dist/listener.js",
      listenFd: 3,
    }),
    stateDir: "/var/lib/rootfence",
    graceMs: 30_000,
    allow: ["10.0.0.0/24"],
    ...(activation === undefined ? {} : { activation }),
  });
}

const UNIX: SocketActivation = { listen: "/run/rootfence-http/listener.sock", group: "www-data" };

function unit(mode: "sudo" | "direct") {
  return units(mode)["rootfence.service"];
}

function keys(text: string): Map<string, string> {
  return new Map(
    text.split("\n").filter((l) => /^[A-Za-z]+=/.test(l)).map((l) => {
      const at = l.indexOf("=");
      return [l.slice(0, at), l.slice(at + 1)];
    }),
  );
}

// NoNewPrivileges= and the options that imply it stop sudo (systemd.exec(5)).
const BREAK_SUDO = [
  "NoNewPrivileges",
  "RestrictAddressFamilies",
  "SystemCallFilter",
  "PrivateDevices",
  "ProtectSystem",
  "PrivateTmp",
  "ProtectHome",
  "CapabilityBoundingSet",
  "RestrictSUIDSGID",
  "MemoryDenyWriteExecute",
];

Deno.test("sudo-mode executor unit runs as the service user, with sudo-safe hardening only", () => {
  const k = keys(unit("sudo"));
  assert.equal(k.get("User"), "rootfence");
  assert.equal(k.get("ExecStart"), [executor("sudo").command, ...executor("sudo").args].join(" "));
  assert.equal(k.get("IPAddressDeny"), "any");
  assert.equal(k.has("IPAddressAllow"), false, "the executor reaches no IP address at all");
  assert.equal(k.get("SupplementaryGroups"), "rootfence-http");
  assert.equal(k.get("RuntimeDirectory"), "rootfence");
  assert.equal(k.get("UMask"), "0077");
  assert.equal(k.get("KillMode"), "mixed");
  assert.equal(k.get("ExecReload"), "/bin/kill -HUP $MAINPID");
  assert.equal(k.get("StateDirectory"), "rootfence");
  for (const key of BREAK_SUDO) assert.equal(k.has(key), false, key);
});

Deno.test("the listener unit runs the sealed listener as its own user with everything else taken away", () => {
  for (const mode of ["sudo", "direct"] as const) {
    const k = keys(units(mode)["rootfence-listener.service"]);
    assert.equal(k.get("User"), "rootfence-http");
    assert.equal(
      k.get("ExecStart"),
      [listener(mode).command, ...listener(mode).args].join(" "),
    );
    assert.equal(k.get("BindsTo"), "rootfence.service");
    assert.equal(k.get("IPAddressAllow"), "localhost 10.0.0.0/24");
    for (const key of ["NoNewPrivileges", "ProtectSystem", "PrivateDevices", "PrivateTmp"]) {
      assert.ok(k.has(key), key);
    }
    assert.equal(k.get("CapabilityBoundingSet"), "");
  }
});

Deno.test("systemctl reload of the executor reaches the listener too, and each reloads on SIGHUP", () => {
  for (const mode of ["sudo", "direct"] as const) {
    const [unitSection] = units(mode)["rootfence.service"].split("[Service]");
    assert.match(unitSection!, /^PropagatesReloadTo=rootfence-listener\.service$/m);
    for (const name of ["rootfence.service", "rootfence-listener.service"] as const) {
      assert.equal(keys(units(mode)[name]).get("ExecReload"), "/bin/kill -HUP $MAINPID", name);
    }
  }
});

Deno.test("with socket activation, systemd owns the socket and the listener inherits it as fd 3", () => {
  for (const activation of [UNIX, { listen: "127.0.0.1:8787" }]) {
    const all = units("sudo", activation);
    const socket = keys(all["rootfence-listener.socket"]!);
    const service = keys(all["rootfence-listener.service"]);
    assert.equal(socket.get("ListenStream"), activation.listen);
    assert.match(service.get("ExecStart")!, / --listen-fd=3 /);
    assert.doesNotMatch(service.get("ExecStart")!, /--listen-path|--host|--port|8787/);
    assert.match(all["rootfence-listener.service"], /^Requires=rootfence-listener\.socket$/m);
    if (activation === UNIX) {
      // The proxy's group may connect; nobody else may.
      assert.equal(socket.get("SocketUser"), "rootfence-http");
      assert.equal(socket.get("SocketGroup"), "www-data");
      assert.equal(socket.get("SocketMode"), "0660");
      assert.equal(socket.has("IPAddressAllow"), false);
    } else {
      assert.equal(socket.get("IPAddressAllow"), "localhost 10.0.0.0/24");
      assert.equal(socket.has("SocketMode"), false);
    }
  }
  assert.equal(units("sudo")["rootfence-listener.socket"], undefined);
});

Deno.test("direct-mode unit runs as root and adds NoNewPrivileges but no mount namespace", () => {
  const k = keys(unit("direct"));
  assert.equal(k.get("User"), "root");
  assert.equal(k.get("NoNewPrivileges"), "yes");
  for (const key of ["ProtectSystem", "PrivateTmp", "PrivateDevices", "ProtectHome"]) {
    assert.equal(k.has(key), false, key);
  }
});

Deno.test("unitWord() escapes systemd specifiers and quotes where needed", () => {
  assert.equal(unitWord("--a=b"), "--a=b");
  assert.equal(unitWord("50%"), "50%%");
  assert.equal(unitWord("$HOME"), "$$HOME");
  assert.equal(unitWord("a b"), '"a b"');
});

Deno.test({
  name: "the units pass systemd-analyze verify, with socket activation too",
  ignore: (() => {
    try {
      Deno.statSync("/usr/bin/systemd-analyze");
      return false;
    } catch {
      console.log("skip: systemd-analyze not installed; the structural tests above still ran");
      return true;
    }
  })(),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      for (const [mode, activation] of [["sudo"], ["direct"], ["sudo", UNIX]] as const) {
        const paths = [];
        for (const [name, text] of Object.entries(units(mode, activation))) {
          paths.push(`${dir}/${name}`);
          await Deno.writeTextFile(`${dir}/${name}`, text!);
        }
        const output = await new Deno.Command("/usr/bin/systemd-analyze", {
          args: ["verify", ...paths],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(output.stderr);
        assert.equal(output.code, 0, `${mode}: ${text}`);
        assert.doesNotMatch(text, /Unknown key|Invalid|Failed to parse/, `${mode}: ${text}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "systemd-analyze security rates the listener unit OK or better in both modes",
  ignore: (() => {
    try {
      Deno.statSync("/usr/bin/systemd-analyze");
      return false;
    } catch {
      console.log("skip: systemd-analyze not installed");
      return true;
    }
  })(),
  async fn() {
    for (const [mode, activation] of [["sudo"], ["direct"], ["sudo", UNIX]] as const) {
      const rated = await rateUnits(units(mode, activation));
      assert.ok(rated !== undefined);
      // A socket unit runs nothing and is not rated.
      assert.deepEqual(rated.map((r) => r.unit), [
        "rootfence.service",
        "rootfence-listener.service",
      ]);
      const listenerRating = rated.find((r) => r.unit === "rootfence-listener.service")!;
      assert.ok(listenerRating.score < 2, `${mode}: ${JSON.stringify(rated)}`);
      assert.match(listenerRating.rating, /^(OK|SAFE)$/);
    }
  },
});
