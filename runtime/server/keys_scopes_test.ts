import assert from "node:assert/strict";
import { RootfenceError } from "../errors.ts";
import { newSecret } from "../signing.ts";
import { scopeWords } from "../scopes/words.ts";
import { loadKeys } from "./keys.ts";

async function withKeys(
  key: Record<string, unknown>,
  fn: (path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-scopes-" });
  try {
    const path = `${dir}/keys.json`;
    const doc = { keys: [{ id: "scoped", secrets: [newSecret()], ops: ["*"], ...key }] };
    await Deno.writeTextFile(path, typeof key.text === "string" ? key.text : JSON.stringify(doc), {
      mode: 0o600,
    });
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const LXC = "create-golden-lxc";

Deno.test("loadKeys() compiles the issue's three scopes and leaves unscoped keys unscoped", async () => {
  const scopes = {
    smart: [{ device: { oneOf: ["/dev/sda", "/dev/sdb"] } }],
    "mount-usb": [
      { uuid: "1298-0BD4", target: "/mnt/usb/photos" },
      { uuid: "3f6e1a52-8c4d-4f0e-9b1a-2d5c7e9f0a13", target: "/mnt/usb/backup" },
    ],
    [LXC]: [{ vmid: { min: 200, max: 299 }, storage: "local-lvm" }],
  };
  await withKeys({ scopes }, async (path) => {
    const [key] = (await loadKeys(path)).keys;
    assert.deepEqual(
      [...key!.scopes!].map(([op, alternatives]) => `${op}: ${scopeWords(alternatives)}`),
      [
        'smart: device is "/dev/sda" or "/dev/sdb"',
        'mount-usb: uuid is "1298-0BD4" and target is "/mnt/usb/photos"; or uuid is ' +
        '"3f6e1a52-8c4d-4f0e-9b1a-2d5c7e9f0a13" and target is "/mnt/usb/backup"',
        'create-golden-lxc: vmid is 200–299 and storage is "local-lvm"',
      ],
    );
  });
  await withKeys({}, async (path) => {
    assert.equal((await loadKeys(path)).keys[0]!.scopes, undefined);
  });
});

Deno.test("loadKeys() refuses each bad scope, naming the key, the op and the field", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { ops: ["smart"], scopes: { sensors: [{ x: 1 }] } },
      /key "scoped".*scope of "sensors": the key may not trigger it \(its ops are smart\)/,
    ],
    [{ scopes: { reboot: [{ x: 1 }] } }, /key "scoped".*scope of "reboot": no such op/],
    [
      { scopes: { smart: [{ disk: "/dev/sda" }] } },
      /key "scoped".*scope of "smart", field "disk": the op's input has no such field/,
    ],
    [
      { scopes: { smart: [{ device: "/dev/sda1" }] } },
      /key "scoped".*scope of "smart", field "device": the field's schema refuses "\/dev\/sda1": must be a whole-disk device/,
    ],
    [
      { scopes: { smart: [{ device: { oneOf: ["/dev/sda", "/dev/../sdc"] } }] } },
      /scope of "smart", field "device": the field's schema refuses "\/dev\/..\/sdc"/,
    ],
    [
      { scopes: { [LXC]: [{ vmid: { min: 50, max: 299 } }] } },
      /scope of "create-golden-lxc", field "vmid": the field's schema refuses 50: Too small/,
    ],
    [
      { scopes: { [LXC]: [{ storage: { min: 1, max: 2 } }] } },
      /scope of "create-golden-lxc", field "storage": the field's schema refuses 1: .*expected string/,
    ],
    [
      { scopes: { [LXC]: [{ vmid: "250" }] } },
      /field "vmid": the field's schema refuses "250": .*expected (int|number)/,
    ],
    [
      { scopes: { "mount-usb": [{ target: "/srv/usb/photos" }] } },
      /scope of "mount-usb", field "target": the field's schema refuses "\/srv\/usb\/photos": Mount target must be directly inside "\/mnt\/usb"/,
    ],
    [
      { scopes: { [LXC]: [{ vmid: null }] } },
      /field "vmid": null \(absent\) is refused: the field is required/,
    ],
    [
      { scopes: { smart: [{ device: { oneOf: [] } }] } },
      /key "scoped" scopes\.smart\.0\.device\.oneOf: must list at least one value/,
    ],
    [
      { scopes: { [LXC]: [{ vmid: { min: 300, max: 200 } }] } },
      /key "scoped" scopes\.create-golden-lxc\.0\.vmid: min 300 is above max 200/,
    ],
    [
      { scopes: { [LXC]: [{ vmid: { min: 200.5 } }] } },
      /key "scoped" scopes\.create-golden-lxc\.0\.vmid: min and max must be integers/,
    ],
    [
      { scopes: { [LXC]: [{ vmid: { oneOf: [200], max: 300 } }] } },
      /scopes\.create-golden-lxc\.0\.vmid: oneOf cannot go with min or max/,
    ],
    [{ scopes: { [LXC]: [{ vmid: {} }] } }, /\.0\.vmid: needs oneOf, or min and\/or max/],
    [{ scopes: { [LXC]: [{ vmid: { is: 250 } }] } }, /\.0\.vmid: Unrecognized key: "is"/],
    [
      { scopes: { [LXC]: [{ tags: ["golden"] }] } },
      /scopes\.create-golden-lxc\.0\.tags: must be a value .*a list or object value goes inside oneOf/,
    ],
    [
      { scopes: { smart: [{}] } },
      /key "scoped" scopes\.smart\.0: an alternative without constraints allows any input/,
    ],
    [
      { scopes: { smart: [] } },
      /key "scoped" scopes\.smart: must list at least one alternative/,
    ],
    [
      {
        text: JSON.stringify({
          keys: [{
            id: "scoped",
            secrets: [newSecret()],
            ops: ["*"],
            scopes: { smart: [{ device: "/dev/sda" }] },
          }],
        }).replace('"device"', '"__proto__":"x","device"'),
      },
      /it has a "__proto__" key, which names nothing/,
    ],
  ];
  for (const [key, pattern] of cases) {
    await withKeys(key, async (path) => {
      await assert.rejects(loadKeys(path), (error) => {
        assert.ok(error instanceof RootfenceError, String(error));
        assert.equal(error.code, "invalid_input");
        assert.match(error.message, pattern);
        assert.doesNotMatch(error.message, /whsec_/);
        return true;
      }, JSON.stringify(key));
    });
  }
});

Deno.test("loadKeys() checks mount-usb targets against the mount base in force", async () => {
  await withKeys({ scopes: { "mount-usb": [{ target: "/srv/usb/photos" }] } }, async (path) => {
    const key = (await loadKeys(path, { settings: { mountBase: "/srv/usb" } })).keys[0]!;
    assert.equal(scopeWords(key.scopes!.get("mount-usb")), 'target is "/srv/usb/photos"');
    await assert.rejects(loadKeys(path), /must be directly inside "\/mnt\/usb"/);
  });
});
