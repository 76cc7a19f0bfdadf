import assert from "node:assert/strict";
import { newSecret } from "../signing.ts";
import { checkKeyScopes } from "./key_scopes.ts";

const SETTINGS = { mountBase: "/mnt/usb" };

async function withFile(doc: unknown, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-audit-keys-" });
  try {
    const path = `${dir}/keys.json`;
    await Deno.writeTextFile(path, typeof doc === "string" ? doc : JSON.stringify(doc));
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("checkKeyScopes() says per key each op it may run as root and with which inputs", async () => {
  const secret = newSecret();
  const doc = {
    keys: [
      { id: "admin", secrets: [secret], ops: ["*"] },
      {
        id: "disks",
        secrets: [secret],
        ops: ["smart", "sensors"],
        scopes: { smart: [{ device: { oneOf: ["/dev/sda", "/dev/sdb"] } }] },
      },
      {
        id: "usb",
        secretFiles: ["/nonexistent/secret"],
        ops: ["mount-usb"],
        scopes: {
          "mount-usb": [
            { uuid: "1298-0BD4", target: "/mnt/usb/photos" },
            { uuid: "0A1B2C3D4E5F6071", target: "/mnt/usb/backup", readOnly: true },
          ],
        },
      },
      {
        id: "golden",
        secrets: [secret],
        ops: ["create-golden-lxc"],
        scopes: { "create-golden-lxc": [{ vmid: { min: 200, max: 299 }, storage: "local-lvm" }] },
      },
    ],
  };
  await withFile(doc, async (path) => {
    const check = await checkKeyScopes(path, SETTINGS);
    assert.equal(check.status, "pass", check.messages.join("\n"));
    assert.deepEqual(check.messages, [
      `${path}:`,
      'key "admin": create-golden-lxc: any input',
      'key "admin": mount-usb: any input',
      'key "admin": smart: any input',
      'key "admin": sensors: any input',
      'key "disks": smart: device is "/dev/sda" or "/dev/sdb"',
      'key "disks": sensors: any input',
      'key "usb": mount-usb: uuid is "1298-0BD4" and target is "/mnt/usb/photos"; or uuid is ' +
      '"0A1B2C3D4E5F6071" and target is "/mnt/usb/backup" and readOnly is true',
      'key "golden": create-golden-lxc: vmid is 200–299 and storage is "local-lvm"',
    ]);
    // The secrets are neither read (the secret file does not exist) nor shown.
    assert.doesNotMatch(JSON.stringify(check), /whsec_/);
  });
});

Deno.test("checkKeyScopes() fails on a keys file the receiver would refuse, and skips without one", async () => {
  const secret = newSecret();
  const key = (extra: Record<string, unknown>) => ({
    keys: [{ id: "disks", secrets: [secret], ops: ["smart"], ...extra }],
  });
  const cases: [unknown, RegExp][] = [
    ["{", /Cannot read keys file ".*": not JSON/],
    [
      key({ scopes: { smart: [{ device: "/dev/sdc1" }] } }),
      /^key "disks": scope of "smart", field "device": the field's schema refuses "\/dev\/sdc1"/,
    ],
    [key({ scopes: { "mount-usb": [{ uuid: "1298-0BD4" }] } }), /may not trigger it/],
    [key({ ops: ["reboot"] }), /^key "disks": unknown ops reboot$/],
    [{ keys: [...key({}).keys, ...key({}).keys] }, /^key "disks": its id is used twice$/],
    [key({ scopes: { smart: [{ device: { min: 2, max: 1 } }] } }), /min 2 is above max 1/],
  ];
  for (const [doc, pattern] of cases) {
    await withFile(doc, async (path) => {
      const check = await checkKeyScopes(path, SETTINGS);
      assert.equal(check.status, "fail", JSON.stringify(doc));
      assert.ok(check.messages.some((m) => pattern.test(m)), check.messages.join("\n"));
    });
  }
  const missing = await checkKeyScopes("/nonexistent/keys.json", SETTINGS);
  assert.equal(missing.status, "fail");
  assert.equal((await checkKeyScopes(undefined, SETTINGS)).status, "skip");
});
