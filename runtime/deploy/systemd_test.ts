import assert from "node:assert/strict";
import { serverDefaults } from "../server/config.ts";
import { buildReceiverCommand } from "../server/receiver_flags.ts";
import { systemdUnit, unitWord } from "./systemd.ts";

const receiver = (runner: "sudo" | "direct") =>
  buildReceiverCommand({
    config: { ...serverDefaults("/var/lib/rootfence"), runner },
    denoPath: "/bin/true",
    configPath: "/opt/rootfence/deno.json",
    lockPath: "/opt/rootfence/deno.lock",
    entryPath: "/opt/rootfence/runtime/server/main.ts",
    killPath: "/usr/bin/kill",
    binaries: { smartctl: "/usr/sbin/smartctl" },
    denoDir: "/var/cache/rootfence/deno",
    readFiles: ["/var/lib/rootfence/keys.json"],
  });

function unit(mode: "sudo" | "direct") {
  return systemdUnit({
    mode,
    user: "rootfence",
    receiver: receiver(mode),
    stateDir: "/var/lib/rootfence",
    graceMs: 30_000,
    allow: ["10.0.0.0/24"],
  });
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

Deno.test("sudo-mode unit runs the fenced receiver as the service user, with sudo-safe hardening only", () => {
  const k = keys(unit("sudo"));
  assert.equal(k.get("User"), "rootfence");
  assert.equal(k.get("ExecStart"), [receiver("sudo").command, ...receiver("sudo").args].join(" "));
  assert.equal(k.get("IPAddressDeny"), "any");
  assert.equal(k.get("IPAddressAllow"), "localhost 10.0.0.0/24");
  assert.equal(k.get("UMask"), "0077");
  assert.equal(k.get("KillMode"), "mixed");
  assert.equal(k.get("StateDirectory"), "rootfence");
  for (const key of BREAK_SUDO) assert.equal(k.has(key), false, key);
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
  name: "both units pass systemd-analyze verify",
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
      for (const mode of ["sudo", "direct"] as const) {
        const path = `${dir}/rootfence.service`;
        await Deno.writeTextFile(path, unit(mode));
        const output = await new Deno.Command("/usr/bin/systemd-analyze", {
          args: ["verify", path],
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
