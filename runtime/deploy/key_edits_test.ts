import assert from "node:assert/strict";
import { UsageError } from "../cli/usage.ts";
import { KeysFile } from "../keys_file.ts";
import { editKeys, type KeyEdit, type KeysDocument } from "./key_edits.ts";

const OLD = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEW = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const THIRD = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx";

const DOC: KeysDocument = {
  keys: [
    { id: "automation", secrets: [OLD], ops: ["*"] },
    {
      id: "monitoring",
      secrets: [NEW],
      secretFiles: ["/var/lib/rootfence/secrets/monitoring"],
      ops: ["smart", "sensors"],
    },
  ],
};

Deno.test("editKeys() adds, rotates, retires and removes, and never changes the document given", () => {
  const before = structuredClone(DOC);
  const cases: [string, KeyEdit, KeysDocument][] = [
    [
      "add a key with its ops and one secret",
      { kind: "add", id: "backup", ops: ["mount-usb", "mount-usb"], secret: NEW },
      { keys: [...DOC.keys, { id: "backup", secrets: [NEW], ops: ["mount-usb"] }] },
    ],
    [
      "rotate: the new secret goes after the old, both stay",
      { kind: "rotate", id: "automation", secret: NEW },
      { keys: [{ id: "automation", secrets: [OLD, NEW], ops: ["*"] }, DOC.keys[1]!] },
    ],
    [
      "retire by position",
      { kind: "retire", id: "monitoring", which: "1" },
      {
        keys: [DOC.keys[0]!, {
          id: "monitoring",
          secretFiles: ["/var/lib/rootfence/secrets/monitoring"],
          ops: ["smart", "sensors"],
        }],
      },
    ],
    [
      "retire by the start of the secret",
      { kind: "retire", id: "monitoring", which: NEW.slice(0, 10) },
      {
        keys: [DOC.keys[0]!, {
          id: "monitoring",
          secretFiles: ["/var/lib/rootfence/secrets/monitoring"],
          ops: ["smart", "sensors"],
        }],
      },
    ],
    [
      "retire a secret file by its path",
      { kind: "retire", id: "monitoring", which: "/var/lib/rootfence/secrets/monitoring" },
      { keys: [DOC.keys[0]!, { id: "monitoring", secrets: [NEW], ops: ["smart", "sensors"] }] },
    ],
    [
      "remove a key",
      { kind: "remove", id: "monitoring" },
      { keys: [DOC.keys[0]!] },
    ],
  ];
  for (const [name, edit, expected] of cases) {
    const edited = editKeys(DOC, edit);
    assert.deepEqual(edited, expected, name);
    assert.equal(KeysFile.safeParse(edited).success, true, name);
  }
  assert.deepEqual(DOC, before);
});

Deno.test("editKeys() refuses what would leave a key or the file unusable, in one line each", () => {
  const twice: KeysDocument = {
    keys: [
      { id: "a", secrets: [OLD], ops: ["*"] },
      { id: "a", secrets: [NEW], ops: ["smart"] },
    ],
  };
  const two: KeysDocument = { keys: [{ id: "a", secrets: [OLD, THIRD], ops: ["*"] }] };
  const cases: [string, KeysDocument, KeyEdit, RegExp][] = [
    [
      "unknown id",
      DOC,
      { kind: "rotate", id: "nobody", secret: NEW },
      /^Cannot add a secret to key "nobody": there is no such key \(keys: "automation", "monitoring"\)$/,
    ],
    ["unknown id to retire", DOC, { kind: "retire", id: "x", which: "1" }, /no such key/],
    ["unknown id to remove", DOC, { kind: "remove", id: "x" }, /^Cannot remove key "x": there/],
    [
      "a duplicate id",
      DOC,
      { kind: "add", id: "automation", ops: ["*"], secret: NEW },
      /^Cannot add key "automation": it already exists; .*--rotate automation$/,
    ],
    [
      "an id the file already lists twice",
      twice,
      { kind: "rotate", id: "a", secret: THIRD },
      /^Cannot add a secret to key "a": the file lists it twice/,
    ],
    [
      "an id that cannot be written",
      DOC,
      { kind: "add", id: "no spaces", ops: ["*"], secret: NEW },
      /^Cannot add key "no spaces": an id is 1 to 64 letters/,
    ],
    [
      "an unknown op",
      DOC,
      { kind: "add", id: "b", ops: ["smart", "reboot"], secret: NEW },
      /^Cannot add key "b": unknown ops "reboot"; name some of /,
    ],
    ["no ops", DOC, { kind: "add", id: "b", ops: [], secret: NEW }, /^Cannot add key "b": no ops/],
    [
      "the last secret",
      DOC,
      { kind: "retire", id: "automation", which: "1" },
      /^Cannot retire a secret of key "automation": it is the key's last one; .*--rotate automation/,
    ],
    [
      "a position the key does not have",
      DOC,
      { kind: "retire", id: "automation", which: "2" },
      /it has no secret 2 \(its inline secrets are 1\.\.1\)$/,
    ],
    [
      "a secret file the key does not list",
      DOC,
      { kind: "retire", id: "monitoring", which: "/elsewhere" },
      /it has no secret file "\/elsewhere"$/,
    ],
    [
      "a start that matches two secrets",
      two,
      { kind: "retire", id: "a", which: OLD.slice(0, 20) },
      /2 of its secrets start with that prefix; give more of it$/,
    ],
    [
      "a start too short to be sure of",
      two,
      { kind: "retire", id: "a", which: "whsec_M" },
      /give --secret its position/,
    ],
    [
      "the only key",
      { keys: [DOC.keys[0]!] },
      { kind: "remove", id: "automation" },
      /^Cannot remove key "automation": it is the file's only key; add another first$/,
    ],
  ];
  for (const [name, doc, edit, message] of cases) {
    assert.throws(
      () => editKeys(doc, edit),
      (error) => error instanceof UsageError && message.test(error.message),
      name,
    );
  }
});

Deno.test("editKeys() keeps a key's scopes through rotation and retirement, and adds a new key's", () => {
  const scopes = { smart: [{ device: { oneOf: ["/dev/sda", "/dev/sdb"] } }] };
  const doc: KeysDocument = {
    keys: [{ id: "disks", secrets: [OLD], ops: ["smart"], scopes }],
  };
  const rotated = editKeys(doc, { kind: "rotate", id: "disks", secret: NEW });
  assert.deepEqual(rotated.keys[0], { id: "disks", secrets: [OLD, NEW], ops: ["smart"], scopes });
  const retired = editKeys(rotated, { kind: "retire", id: "disks", which: "1" });
  assert.deepEqual(retired.keys[0], { id: "disks", secrets: [NEW], ops: ["smart"], scopes });
  const added = editKeys(retired, { kind: "add", id: "more", ops: ["smart"], secret: OLD, scopes });
  assert.deepEqual(added.keys[1], { id: "more", secrets: [OLD], ops: ["smart"], scopes });
  assert.equal(KeysFile.safeParse(added).success, true);
});
