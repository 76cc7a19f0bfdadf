import assert from "node:assert/strict";
import { mountBaseProblem, mountUsb as op } from "./mod.ts";

const settings = { mountBase: "/mnt/usb" };
const base = {
  uuid: "bac44334-c03f-49b1-9e0e-801902c005a2",
  target: "/mnt/usb/backup",
  fsType: "ext4",
};

Deno.test("argv() mounts by UUID with the fixed options and creates the target", () => {
  assert.deepEqual(op.argv(op.schema(settings).parse(base), settings), {
    binary: "mount",
    args: [
      "--internal-only",
      "--mkdir=0755",
      "-t",
      "ext4",
      "-o",
      "nosuid,nodev,noexec",
      "UUID=bac44334-c03f-49b1-9e0e-801902c005a2",
      "/mnt/usb/backup",
    ],
  });
});

Deno.test("argv() adds ro for a read-only mount and nothing else", () => {
  const input = op.schema(settings).parse({ ...base, readOnly: true });
  assert.equal(op.argv(input, settings).args[5], "nosuid,nodev,noexec,ro");
});

const valid: Record<string, unknown>[] = [
  { uuid: "1298-0BD4", fsType: "vfat" },
  { uuid: "5E1C-2B3A", fsType: "exfat" },
  { uuid: "01D9A1B2C3D4E5F6", fsType: "ntfs3" },
  { target: "/mnt/usb/a/b/c/d" },
  { target: "/mnt/usb/Disk_1.backup@home+x" },
  { fsType: "xfs" },
  { fsType: "btrfs" },
  { readOnly: false },
];

for (const patch of valid) {
  Deno.test(`schema accepts ${JSON.stringify(patch)}`, () => {
    assert.equal(op.schema(settings).safeParse({ ...base, ...patch }).success, true);
  });
}

const invalid: [string, Record<string, unknown>, string][] = [
  ["an uppercase 36-char UUID (blkid prints lowercase)", {
    uuid: "BAC44334-C03F-49B1-9E0E-801902C005A2",
  }, "uuid"],
  ["a lowercase vfat UUID (blkid prints uppercase)", { uuid: "1298-0bd4" }, "uuid"],
  ["a UUID with an option glued on", { uuid: "1298-0BD4,exec" }, "uuid"],
  ["a device path instead of a UUID", { uuid: "/dev/sda1" }, "uuid"],
  ["a UUID with a trailing newline", { uuid: "1298-0BD4\n" }, "uuid"],
  ["a target climbing out with ..", { target: "/mnt/usb/../../etc" }, "target"],
  ["a target of /etc", { target: "/etc" }, "target"],
  ["the base itself", { target: "/mnt/usb" }, "target"],
  ["the base with a trailing slash", { target: "/mnt/usb/" }, "target"],
  ["a look-alike base", { target: "/mnt/usbx/a" }, "target"],
  ["a relative target", { target: "mnt/usb/a" }, "target"],
  ["a target with //", { target: "/mnt/usb//a" }, "target"],
  ["a target with a . segment", { target: "/mnt/usb/./a" }, "target"],
  ["a hidden target", { target: "/mnt/usb/.ssh" }, "target"],
  ["a target with a space", { target: "/mnt/usb/my disk" }, "target"],
  ["a target with a NUL", { target: "/mnt/usb/a\u0000b" }, "target"],
  ["a target with a newline", { target: "/mnt/usb/a\nb" }, "target"],
  ["a target starting with a dash", { target: "/mnt/usb/-o" }, "target"],
  ["a target five levels deep", { target: "/mnt/usb/a/b/c/d/e" }, "target"],
  ["a target with a unicode look-alike slash", { target: "/mnt/usb/a\u2215..\u2215etc" }, "target"],
  ["a filesystem type outside the list", { fsType: "nfs" }, "fsType"],
  ["an fs type with options", { fsType: "ext4 -o exec" }, "fsType"],
  ["read-only as text", { readOnly: "yes" }, "readOnly"],
  ["an extra options key", { options: "exec,suid" }, ""],
];

for (const [what, patch, path] of invalid) {
  Deno.test(`schema refuses ${what}`, () => {
    const result = op.schema(settings).safeParse({ ...base, ...patch });
    assert.equal(result.success, false);
    const paths = result.error!.issues.map((i) => i.path.join("."));
    if (path) assert.ok(paths.includes(path), `issues at ${paths.join(", ")}`);
    else assert.ok(result.error!.issues.some((i) => i.code === "unrecognized_keys"));
  });
}

Deno.test("schema follows the configured mount base", () => {
  const schema = op.schema({ mountBase: "/srv/removable" });
  assert.equal(schema.safeParse({ ...base, target: "/srv/removable/x" }).success, true);
  assert.equal(schema.safeParse(base).success, false);
});

Deno.test("mountBaseProblem() refuses /, relative and unnormalised bases", () => {
  for (const bad of ["/", "", "mnt/usb", "/mnt/../etc", "/mnt//usb", "/mnt/usb/", "/mnt/u b"]) {
    assert.notEqual(mountBaseProblem(bad), undefined, bad);
  }
  assert.equal(mountBaseProblem("/media/usb-disks"), undefined);
});

const spec = op.schema(settings).parse(base);
const output = (stderr: string, exitCode: number) => ({
  exitCode,
  signal: null,
  stdout: "",
  stderr,
  stdoutTruncated: false,
  stderrTruncated: false,
});

Deno.test("parse() treats the same filesystem on the same target as success", () => {
  // Wording captured from util-linux 2.38.1 here; tests/real_mount_test.ts reproduces it live.
  const stderr = "mount: /mnt/usb/backup: /dev/loop0 already mounted on /mnt/usb/backup.\n" +
    "       dmesg(1) may have more information after failed mount system call.\n";
  const outcome = op.parse(output(stderr, 32), spec);
  assert.equal(outcome.ok && outcome.value.alreadyMounted, true);
});

Deno.test("parse() classifies mount's messages (util-linux wording, synthetic transcripts)", () => {
  const cases: [string, number, string][] = [
    ["mount: /mnt/usb/backup: can't find UUID=1298-0BD4.", 1, "uuid_not_found"],
    ["mount: /mnt/usb/backup: /dev/sdb1 already mounted on /mnt/other.", 32, "already_mounted"],
    ["mount: /mnt/usb/backup: /dev/sdb1 already mounted or mount point busy.", 32, "target_busy"],
    ["mount: /mnt/usb/backup: unknown filesystem type 'vfat'.", 32, "unknown_fs"],
    [
      "mount: /mnt/usb/backup: wrong fs type, bad option, bad superblock on /dev/sdb1, missing codepage or helper program, or other error.",
      32,
      "wrong_fs_type",
    ],
    ["mount: /mnt/usb/backup: must be superuser to use mount.", 1, "denied"],
    ["mount: /mnt/usb/backup: mount point is not a directory.", 32, "command_failed"],
  ];
  for (const [stderr, exitCode, code] of cases) {
    const outcome = op.parse(output(stderr, exitCode), spec);
    assert.equal(outcome.ok ? "ok" : outcome.code, code, stderr);
  }
});

Deno.test("resourceKeys() are the target and the filesystem UUID", () => {
  assert.deepEqual(op.resourceKeys(spec), [
    "mount:/mnt/usb/backup",
    "fs-uuid:bac44334-c03f-49b1-9e0e-801902c005a2",
  ]);
});
