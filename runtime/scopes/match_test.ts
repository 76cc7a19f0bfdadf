import assert from "node:assert/strict";
import { findOp } from "../../ops/mod.ts";
import type { KeyScopes } from "../keys_file.ts";
import { compileScopes } from "./compile.ts";
import { scopeFailures } from "./match.ts";
import { constraintWords } from "./words.ts";

const SETTINGS = { mountBase: "/mnt/usb" };

/** Judges `input` as the receiver does: parsed by the op's schema, then held to the scope. */
function judge(op: string, scope: KeyScopes[string], input: unknown): string[] | undefined {
  const alternatives = compileScopes({ ops: [op], scopes: { [op]: scope } }, {
    settings: SETTINGS,
  }).get(op)!;
  const parsed = findOp(op)!.schema(SETTINGS).parse(input);
  return scopeFailures(alternatives, parsed)?.map(constraintWords);
}

const LXC = {
  vmid: 250,
  ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  storage: "local-lvm",
  rootfsGb: 8,
};

Deno.test("scopeFailures() allows an exact value and refuses any other, or none", () => {
  const scope = [{ device: "/dev/sda" }];
  assert.equal(judge("smart", scope, { device: "/dev/sda" }), undefined);
  assert.deepEqual(judge("smart", scope, { device: "/dev/sdb" }), ['device is "/dev/sda"']);
  // Without a device, smart reads every disk: a device scope must refuse that.
  assert.deepEqual(judge("smart", scope, {}), ['device is "/dev/sda"']);
});

Deno.test("scopeFailures() allows each of oneOf and refuses the rest", () => {
  const scope = [{ device: { oneOf: ["/dev/sda", "/dev/sdb"] } }];
  assert.equal(judge("smart", scope, { device: "/dev/sda" }), undefined);
  assert.equal(judge("smart", scope, { device: "/dev/sdb", deviceType: "sat" }), undefined);
  assert.deepEqual(judge("smart", scope, { device: "/dev/sdc" }), [
    'device is "/dev/sda" or "/dev/sdb"',
  ]);
});

Deno.test("scopeFailures() allows a range's bounds and what is between, and refuses past them", () => {
  const scope = [{ vmid: { min: 200, max: 299 } }];
  for (const vmid of [200, 250, 299]) {
    assert.equal(judge("create-golden-lxc", scope, { ...LXC, vmid }), undefined, String(vmid));
  }
  for (const vmid of [199, 300, 9000]) {
    assert.deepEqual(judge("create-golden-lxc", scope, { ...LXC, vmid }), ["vmid is 200–299"]);
  }
  assert.equal(
    judge("create-golden-lxc", [{ vmid: { min: 900 } }], { ...LXC, vmid: 9000 }),
    undefined,
  );
  assert.deepEqual(judge("create-golden-lxc", [{ vmid: { max: 199 } }], LXC), [
    "vmid is at most 199",
  ]);
});

Deno.test("scopeFailures() needs every constraint of an alternative, and one alternative", () => {
  // Two USB disks, each only at its own target.
  const scope = [
    { uuid: "1298-0BD4", target: "/mnt/usb/photos" },
    { uuid: "3f6e1a52-8c4d-4f0e-9b1a-2d5c7e9f0a13", target: "/mnt/usb/backup" },
  ];
  const mount = (uuid: string, target: string) => ({ uuid, target, fsType: "ext4" });
  assert.equal(judge("mount-usb", scope, mount("1298-0BD4", "/mnt/usb/photos")), undefined);
  assert.equal(
    judge("mount-usb", scope, mount("3f6e1a52-8c4d-4f0e-9b1a-2d5c7e9f0a13", "/mnt/usb/backup")),
    undefined,
  );
  // Each UUID at the other's target: every alternative fails, each on its first broken field.
  assert.deepEqual(judge("mount-usb", scope, mount("1298-0BD4", "/mnt/usb/backup")), [
    'target is "/mnt/usb/photos"',
    'uuid is "3f6e1a52-8c4d-4f0e-9b1a-2d5c7e9f0a13"',
  ]);
  assert.deepEqual(judge("mount-usb", scope, mount("0A1B-2C3D", "/mnt/usb/other")), [
    'uuid is "1298-0BD4"',
    'uuid is "3f6e1a52-8c4d-4f0e-9b1a-2d5c7e9f0a13"',
  ]);
});

Deno.test("scopeFailures() takes null as absent, and compares lists and objects as JSON", () => {
  const start = [{ start: { oneOf: [false, null] } }];
  assert.equal(judge("create-golden-lxc", start, LXC), undefined);
  assert.equal(judge("create-golden-lxc", start, { ...LXC, start: false }), undefined);
  assert.deepEqual(judge("create-golden-lxc", start, { ...LXC, start: true }), [
    "start is false or absent",
  ]);
  const net0 = { name: "eth0", bridge: "vmbr0", ip: "dhcp" };
  const scope = [{ net0: { oneOf: [net0] }, tags: { oneOf: [["golden"]] } }];
  // Keys in another order are the same object.
  const reordered = { ip: "dhcp", bridge: "vmbr0", name: "eth0" };
  assert.equal(
    judge("create-golden-lxc", scope, { ...LXC, net0: reordered, tags: ["golden"] }),
    undefined,
  );
  assert.deepEqual(
    judge("create-golden-lxc", scope, {
      ...LXC,
      net0: { ...net0, bridge: "vmbr1" },
      tags: ["golden"],
    }),
    ['net0 is {"name":"eth0","bridge":"vmbr0","ip":"dhcp"}'],
  );
  assert.deepEqual(
    judge("create-golden-lxc", scope, { ...LXC, net0, tags: ["golden", "x"] }),
    ['tags is ["golden"]'],
  );
  assert.deepEqual(judge("create-golden-lxc", scope, LXC), [
    'net0 is {"name":"eth0","bridge":"vmbr0","ip":"dhcp"}',
  ]);
});

Deno.test("scopeFailures() compares numbers as JSON (-0 is 0) and never a number with text", () => {
  const swap = [{ swapMb: 0 }];
  assert.equal(judge("create-golden-lxc", swap, { ...LXC, swapMb: -0 }), undefined);
  const alternatives = compileScopes(
    { ops: ["*"], scopes: { "create-golden-lxc": [{ vmid: { min: 200, max: 299 } }] } },
    { settings: SETTINGS },
  ).get("create-golden-lxc")!;
  // Past the schema (which refuses it), a vmid as text still never passes a range.
  assert.equal(scopeFailures(alternatives, { ...LXC, vmid: "250" })?.length, 1);
});

Deno.test("scopeFailures() reads only the input's own fields, never inherited ones", () => {
  const alternatives = compileScopes({
    ops: ["smart"],
    scopes: { smart: [{ device: "/dev/sda" }] },
  }, {
    settings: SETTINGS,
  }).get("smart")!;
  const inherited = Object.create({ device: "/dev/sda" });
  assert.equal(scopeFailures(alternatives, inherited)?.length, 1);
  for (const input of [undefined, null, "x", ["/dev/sda"]]) {
    assert.equal(scopeFailures(alternatives, input)?.length, 1, JSON.stringify(input));
  }
  assert.equal(scopeFailures(alternatives, { device: "/dev/sda" }), undefined);
});
