import assert from "node:assert/strict";
import { OPS } from "../../ops/mod.ts";
import { decodeChildArgs, encodeChildArgs } from "./child_args.ts";
import { buildChildCommand } from "./child_command.ts";

const binaries = {
  pct: "/usr/sbin/pct",
  mount: "/usr/bin/mount",
  findmnt: "/usr/bin/findmnt",
  mkdir: "/usr/bin/mkdir",
  smartctl: "/usr/sbin/smartctl",
  sensors: "/usr/bin/sensors",
};
const settings = { mountBase: "/srv/usb" };

for (const op of OPS) {
  Deno.test(`decodeChildArgs() reads back what buildChildCommand() gives ${op.name}`, () => {
    const command = buildChildCommand(op, {
      denoPath: "/opt/deno/deno",
      entryPath: "/opt/rootfence/dist/child.js",
      binaries,
      settings,
      runner: "direct",
      sudoPath: "/usr/bin/sudo",
      binPath: "/usr/sbin:/usr/bin:/sbin:/bin",
    });
    const argv = command.args.slice(command.denoFlags.length + 1);
    const args = decodeChildArgs(argv, OPS);
    assert.equal(args.op, op.name);
    assert.deepEqual(Object.keys(args.bin), [...op.permissions.run]);
    assert.deepEqual(args.settings, settings);
    assert.deepEqual(encodeChildArgs(args), argv);
  });
}

Deno.test("encodeChildArgs() keeps a path with = in it whole", () => {
  const args = { op: "smart", bin: { smartctl: "/opt/a=b/smartctl" }, settings };
  assert.deepEqual(decodeChildArgs(encodeChildArgs(args), OPS), args);
});

Deno.test("decodeChildArgs() refuses what no launcher passes", () => {
  const valid = ["--op=smart", "--bin=smartctl=/usr/sbin/smartctl", "--mount-base=/mnt/usb"];
  const cases: [string[], ErrorConstructor][] = [
    [["--bin=smartctl=/usr/sbin/smartctl", "--mount-base=/mnt/usb"], RangeError],
    [[...valid, "--bin=sh=/bin/sh"], RangeError],
    [[...valid, "--bin=sensors=sensors"], RangeError],
    [[...valid, "--bin=sensors"], RangeError],
    [["--op=smart", "--bin=smartctl=/usr/sbin/smartctl"], RangeError],
    [[...valid.slice(0, 2), "--mount-base=/"], RangeError],
    [[...valid, "--allow-all"], TypeError],
  ];
  for (const [argv, type] of cases) {
    assert.throws(() => decodeChildArgs(argv, OPS), type, argv.join(" "));
  }
});
