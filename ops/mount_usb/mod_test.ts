import assert from "node:assert/strict";
import type { CommandOutput, HostCommand, OpHost, PathInfo } from "../types.ts";
import { directoryProblem, mountBaseProblem, mountUsb as op } from "./mod.ts";

const settings = { mountBase: "/mnt/usb" };
const base = {
  uuid: "bac44334-c03f-49b1-9e0e-801902c005a2",
  target: "/mnt/usb/backup",
  fsType: "ext4",
};

Deno.test("argv() mounts by UUID with the fixed options and never creates directories", () => {
  assert.deepEqual(op.argv(op.schema(settings).parse(base), settings), {
    binary: "mount",
    args: [
      "--internal-only",
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
  assert.equal(op.argv(input, settings).args[4], "nosuid,nodev,noexec,ro");
});

Deno.test("paths() grants reading and writing the mount base and nothing else", () => {
  assert.deepEqual(op.paths!(settings), { read: ["/mnt/usb"], write: ["/mnt/usb"] });
  assert.deepEqual(op.permissions.run, ["mount", "findmnt"]);
});

const valid: Record<string, unknown>[] = [
  { uuid: "1298-0BD4", fsType: "vfat" },
  { uuid: "5E1C-2B3A", fsType: "exfat" },
  { uuid: "01D9A1B2C3D4E5F6", fsType: "ntfs3" },
  { target: "/mnt/usb/Disk_1.backup@home+x" },
  { target: "/mnt/usb/x.y" },
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
  ["a .. target", { target: "/mnt/usb/.." }, "target"],
  ["a hidden target", { target: "/mnt/usb/.ssh" }, "target"],
  ["a target with a space", { target: "/mnt/usb/my disk" }, "target"],
  ["a target with a NUL", { target: "/mnt/usb/a\u0000b" }, "target"],
  ["a target with a newline", { target: "/mnt/usb/a\nb" }, "target"],
  ["a target starting with a dash", { target: "/mnt/usb/-o" }, "target"],
  ["a target with a comma", { target: "/mnt/usb/a,b" }, "target"],
  ["a nested target (through another mount)", { target: "/mnt/usb/a/esc" }, "target"],
  ["a target with a trailing slash", { target: "/mnt/usb/a/" }, "target"],
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

Deno.test("schema says a nested target must be exactly one level below the base", () => {
  const result = op.schema(settings).safeParse({ ...base, target: "/mnt/usb/a/esc" });
  assert.match(result.error!.issues[0]!.message, /exactly one level below "\/mnt\/usb"/);
});

Deno.test("schema follows the configured mount base", () => {
  const schema = op.schema({ mountBase: "/srv/removable" });
  assert.equal(schema.safeParse({ ...base, target: "/srv/removable/x" }).success, true);
  assert.equal(schema.safeParse(base).success, false);
});

Deno.test("mountBaseProblem() refuses /, relative and unnormalised bases", () => {
  for (
    const bad of ["/", "", "mnt/usb", "/mnt/../etc", "/mnt//usb", "/mnt/usb/", "/mnt/u b", "/a,b"]
  ) {
    assert.notEqual(mountBaseProblem(bad), undefined, bad);
  }
  assert.equal(mountBaseProblem("/media/usb-disks"), undefined);
});

Deno.test("directoryProblem() accepts only real root-owned directories nobody else may change", () => {
  const dir = (mode: number, uid = 0): PathInfo => ({ kind: "directory", uid, mode });
  const cases: [PathInfo, "base" | "ancestor", RegExp | undefined][] = [
    [dir(0o755), "base", undefined],
    [dir(0o700), "base", undefined],
    [dir(0o775), "base", /writable by group or others \(mode 775\)/],
    [dir(0o757), "base", /writable by group or others/],
    [dir(0o1777), "base", /writable by group or others/],
    [dir(0o1777), "ancestor", undefined],
    [dir(0o777), "ancestor", /writable by group or others/],
    [dir(0o755, 1000), "base", /owned by uid 1000, not root/],
    [dir(0o1777, 1000), "ancestor", /owned by uid 1000/],
    [{ kind: "symlink", uid: 0, mode: 0o777 }, "base", /is a symlink/],
    [{ kind: "symlink", uid: 0, mode: 0o777 }, "ancestor", /is a symlink/],
    [{ kind: "file", uid: 0, mode: 0o644 }, "base", /is a file, not a directory/],
  ];
  for (const [info, role, expected] of cases) {
    const problem = directoryProblem(info, role);
    if (expected === undefined) assert.equal(problem, undefined, JSON.stringify(info));
    else assert.match(problem ?? "", expected, JSON.stringify(info));
  }
});

const spec = op.schema(settings).parse(base);
const output = (stderr: string, exitCode: number, stdout = ""): CommandOutput => ({
  exitCode,
  signal: null,
  stdout,
  stderr,
  stdoutTruncated: false,
  stderrTruncated: false,
});

Deno.test("parse() never reads success from mount's message, even for the very target", () => {
  // Wording captured from util-linux 2.38.1; whether it is mounted there is read from findmnt.
  for (const where of ["/mnt/usb/backup", "/mnt/usb/backup.y"]) {
    const stderr = `mount: /mnt/usb/backup: /dev/loop0 already mounted on ${where}.\n`;
    const outcome = op.parse(output(stderr, 32), spec);
    assert.equal(outcome.ok ? "ok" : outcome.code, "already_mounted", where);
  }
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

Deno.test("parse() reports a read-write request mounted read-only as mounted_read_only", () => {
  const warning = "mount: /mnt/usb/backup: WARNING: source write-protected, mounted read-only.\n";
  const outcome = op.parse(output(warning, 0), spec);
  assert.equal(outcome.ok ? "ok" : outcome.code, "mounted_read_only");
  assert.match(outcome.ok ? "" : outcome.message, /stays mounted; ask again with readOnly/);
  const readOnly = op.schema(settings).parse({ ...base, readOnly: true });
  assert.equal(op.parse(output(warning, 0), readOnly).ok, true);
});

Deno.test("resourceKeys() are the target and the filesystem UUID", () => {
  assert.deepEqual(op.resourceKeys(spec), [
    "mount:/mnt/usb/backup",
    "fs-uuid:bac44334-c03f-49b1-9e0e-801902c005a2",
  ]);
});

// execute(): the whole decision path against a scripted host.

const DIR: PathInfo = { kind: "directory", uid: 0, mode: 0o755 };
const DEVICE = "/dev/sdb1";

interface Entry {
  target: string;
  source: string;
  uuid?: string | null;
  vfs?: string;
  fs?: string;
}

/** A scripted host: a few paths, a mount table, and what mount does when asked. */
class FakeHost implements OpHost {
  readonly log: string[] = [];
  readonly paths = new Map<string, PathInfo>([["/mnt/usb", DIR]]);
  readonly real = new Map<string, string>();
  table: Entry[] = [{ target: "/", source: "/dev/sda1", uuid: "root-uuid" }];
  /** The fake `mount --fake` answer. */
  fake: CommandOutput = output("", 0, `mount: ${DEVICE} mounted on /mnt/usb/backup.\n`);
  /** What the main mount does: its output, and the entries it adds. */
  mount: { output: CommandOutput; adds: Entry[] } = {
    output: output("", 0),
    adds: [{ target: "/mnt/usb/backup", source: DEVICE, uuid: base.uuid }],
  };
  rmdirFails = false;

  run(command: HostCommand): Promise<CommandOutput> {
    this.log.push(`run ${command.binary} ${command.args.join(" ")}`);
    if (command.binary === "findmnt") {
      const filesystems = this.table.map((e) => ({
        target: e.target,
        source: e.source,
        fstype: "ext4",
        uuid: e.uuid ?? null,
        "vfs-options": e.vfs ?? "rw,nosuid,nodev,noexec,relatime",
        "fs-options": e.fs ?? "rw",
      }));
      return Promise.resolve(output("", 0, JSON.stringify({ filesystems })));
    }
    if (command.args[0] === "--fake") return Promise.resolve(this.fake);
    if (this.mount.output.exitCode === 0) this.table = [...this.table, ...this.mount.adds];
    return Promise.resolve(this.mount.output);
  }
  lstat(path: string): Promise<PathInfo | undefined> {
    this.log.push(`lstat ${path}`);
    return Promise.resolve(this.paths.get(path));
  }
  realPath(path: string): Promise<string> {
    return Promise.resolve(this.real.get(path) ?? path);
  }
  mkdir(path: string, mode: number): Promise<void> {
    this.log.push(`mkdir ${path} ${mode.toString(8)}`);
    this.paths.set(path, { ...DIR, mode });
    return Promise.resolve();
  }
  rmdir(path: string): Promise<void> {
    this.log.push(`rmdir ${path}`);
    if (this.rmdirFails) return Promise.reject(new Error("Device or resource busy"));
    this.paths.delete(path);
    return Promise.resolve();
  }
  /** What changed the host: directories and mounts, never reads. */
  get changes(): string[] {
    return this.log.filter((l) =>
      /^(mkdir|rmdir) /.test(l) || (l.startsWith("run mount ") && !l.includes("--fake"))
    );
  }
}

async function execute(host: FakeHost, patch: Record<string, unknown> = {}) {
  const input = op.schema(settings).parse({ ...base, ...patch });
  return await op.execute!(input, settings, host);
}

function codeOf(outcome: Awaited<ReturnType<typeof execute>>): string {
  return outcome.ok ? "ok" : outcome.code;
}

const MAIN_MOUNT =
  "run mount --internal-only -t ext4 -o nosuid,nodev,noexec UUID=bac44334-c03f-49b1-9e0e-801902c005a2 /mnt/usb/backup";

Deno.test("execute() creates a missing target, mounts and reports what the kernel shows", async () => {
  const host = new FakeHost();
  const outcome = await execute(host);
  assert.deepEqual(outcome, {
    ok: true,
    value: {
      uuid: base.uuid,
      target: "/mnt/usb/backup",
      fsType: "ext4",
      device: DEVICE,
      options: "rw,nosuid,nodev,noexec,relatime",
      readOnly: false,
      alreadyMounted: false,
      warnings: "",
    },
  });
  assert.deepEqual(host.changes, ["mkdir /mnt/usb/backup 755", MAIN_MOUNT]);
});

Deno.test("execute() mounts on an existing plain directory without creating anything", async () => {
  const host = new FakeHost();
  host.paths.set("/mnt/usb/backup", DIR);
  assert.equal(codeOf(await execute(host)), "ok");
  assert.deepEqual(host.changes, [MAIN_MOUNT]);
});

Deno.test("execute() creates a missing base (0755) and the target, and mounts", async () => {
  const host = new FakeHost();
  host.paths.delete("/mnt/usb");
  assert.equal(codeOf(await execute(host)), "ok");
  assert.deepEqual(host.changes, ["mkdir /mnt/usb 755", "mkdir /mnt/usb/backup 755", MAIN_MOUNT]);
});

const unsafeBases: [string, (host: FakeHost) => void, RegExp][] = [
  [
    "a symlink",
    (h) => h.paths.set("/mnt/usb", { kind: "symlink", uid: 0, mode: 0o777 }),
    /is a symlink/,
  ],
  [
    "reached through a symlink",
    (h) => h.real.set("/mnt/usb", "/elsewhere/usb"),
    /through a symlink/,
  ],
  ["group-writable", (h) => h.paths.set("/mnt/usb", { ...DIR, mode: 0o775 }), /writable by group/],
  [
    "world-writable and sticky",
    (h) => h.paths.set("/mnt/usb", { ...DIR, mode: 0o1777 }),
    /writable/,
  ],
  ["owned by a user", (h) => h.paths.set("/mnt/usb", { ...DIR, uid: 1000 }), /owned by uid 1000/],
  ["a file", (h) => h.paths.set("/mnt/usb", { kind: "file", uid: 0, mode: 0o644 }), /is a file/],
];

for (const [what, arrange, message] of unsafeBases) {
  Deno.test(`execute() refuses a mount base that is ${what}, before running anything`, async () => {
    const host = new FakeHost();
    arrange(host);
    const outcome = await execute(host);
    assert.equal(codeOf(outcome), "mount_base_unsafe");
    assert.match(
      outcome.ok ? "" : outcome.message,
      /^Cannot mount on "\/mnt\/usb\/backup": mount base "\/mnt\/usb" /,
    );
    assert.match(outcome.ok ? "" : outcome.message, message);
    assert.equal(host.log.filter((l) => l.startsWith("run ")).length, 0);
    assert.deepEqual(host.changes, []);
  });
}

const unsafeTargets: [string, PathInfo, RegExp][] = [
  [
    "a symlink",
    { kind: "symlink", uid: 0, mode: 0o777 },
    /it is a symlink; a mount point must be a plain directory/,
  ],
  ["a file", { kind: "file", uid: 0, mode: 0o644 }, /it is a file/],
  ["a device or socket", { kind: "other", uid: 0, mode: 0o600 }, /it is a special file/],
];

for (const [what, info, message] of unsafeTargets) {
  Deno.test(`execute() refuses a target that is ${what} (target_unsafe), changing nothing`, async () => {
    const host = new FakeHost();
    host.paths.set("/mnt/usb/backup", info);
    const outcome = await execute(host);
    assert.equal(codeOf(outcome), "target_unsafe");
    assert.match(outcome.ok ? "" : outcome.message, message);
    assert.deepEqual(host.changes, []);
  });
}

Deno.test("execute() refuses a target that is already another filesystem's mount point", async () => {
  const host = new FakeHost();
  host.paths.set("/mnt/usb/backup", DIR);
  host.table.push({ target: "/mnt/usb/backup", source: "/dev/sdc1", uuid: "other" });
  const outcome = await execute(host);
  assert.equal(codeOf(outcome), "target_busy");
  assert.match(
    outcome.ok ? "" : outcome.message,
    /already the mount point of \/dev\/sdc1 \(ext4\)/,
  );
  assert.deepEqual(host.changes, []);
});

Deno.test("execute() refuses a UUID mounted elsewhere and names every place", async () => {
  const host = new FakeHost();
  host.table.push({ target: "/srv/a b", source: DEVICE }, { target: "/mnt/usb/x", source: DEVICE });
  const outcome = await execute(host);
  assert.equal(codeOf(outcome), "already_mounted");
  assert.match(
    outcome.ok ? "" : outcome.message,
    /it is already mounted on "\/srv\/a b", "\/mnt\/usb\/x"$/,
  );
  assert.deepEqual(host.changes, []);
});

Deno.test("execute() knows a filesystem by its UUID even under another device name", async () => {
  const host = new FakeHost();
  host.table.push({ target: "/media/disk", source: "/dev/disk/by-uuid/x", uuid: base.uuid });
  assert.equal(codeOf(await execute(host)), "already_mounted");
});

Deno.test("execute() never takes <base>/x.y for <base>/x (whole paths, not prefixes)", async () => {
  const host = new FakeHost();
  host.table.push({ target: "/mnt/usb/x.y", source: DEVICE });
  const outcome = await execute(host, { target: "/mnt/usb/x" });
  assert.equal(codeOf(outcome), "already_mounted");
  assert.match(outcome.ok ? "" : outcome.message, /already mounted on "\/mnt\/usb\/x\.y"$/);
  assert.deepEqual(host.changes, []);
});

Deno.test("execute() is idempotent: the same filesystem on the same target is success", async () => {
  const host = new FakeHost();
  host.paths.set("/mnt/usb/backup", DIR);
  host.table.push({ target: "/mnt/usb/backup", source: DEVICE, uuid: base.uuid });
  const outcome = await execute(host);
  assert.equal(outcome.ok && outcome.value.alreadyMounted, true);
  assert.deepEqual(host.changes, []);
});

const existing: [string, Partial<Entry>, Record<string, unknown>, string, RegExp][] = [
  [
    "read-only when read-write is asked",
    { vfs: "ro,nosuid,nodev,noexec" },
    {},
    "mounted_read_only",
    /already mounted there read-only/,
  ],
  [
    "read-write when read-only is asked",
    {},
    { readOnly: true },
    "already_mounted",
    /already mounted there read-write/,
  ],
  ["without noexec", { vfs: "rw,nosuid,nodev" }, {}, "already_mounted", /there without noexec/],
];

for (const [what, entry, patch, code, message] of existing) {
  Deno.test(`execute() does not call an existing mount ${what} success`, async () => {
    const host = new FakeHost();
    host.paths.set("/mnt/usb/backup", DIR);
    host.table.push({ target: "/mnt/usb/backup", source: DEVICE, ...entry });
    const outcome = await execute(host, patch);
    assert.equal(codeOf(outcome), code);
    assert.match(outcome.ok ? "" : outcome.message, message);
    assert.deepEqual(host.changes, []);
  });
}

Deno.test("execute() reports a kernel downgrade to read-only as mounted_read_only, kept mounted", async () => {
  const host = new FakeHost();
  host.mount = {
    output: output(
      "mount: /mnt/usb/backup: WARNING: source write-protected, mounted read-only.\n",
      0,
    ),
    adds: [{ target: "/mnt/usb/backup", source: DEVICE, vfs: "ro,nosuid,nodev,noexec", fs: "ro" }],
  };
  const outcome = await execute(host);
  assert.equal(codeOf(outcome), "mounted_read_only");
  assert.match(
    outcome.ok ? "" : outcome.message,
    /write-protected, so the kernel mounted it read-only/,
  );
  assert.deepEqual(host.changes, ["mkdir /mnt/usb/backup 755", MAIN_MOUNT]);
});

Deno.test("execute() catches a downgrade from the mount table even without mount's warning", async () => {
  const host = new FakeHost();
  host.mount.adds = [{
    target: "/mnt/usb/backup",
    source: DEVICE,
    vfs: "rw,nosuid,nodev,noexec",
    fs: "ro",
  }];
  assert.equal(codeOf(await execute(host)), "mounted_read_only");
});

Deno.test("execute() removes the directories it created when the mount fails", async () => {
  const host = new FakeHost();
  host.paths.delete("/mnt/usb");
  host.mount.output = output(
    "mount: /mnt/usb/backup: wrong fs type, bad option, bad superblock on /dev/sdb1.\n",
    32,
  );
  const outcome = await execute(host);
  assert.equal(codeOf(outcome), "wrong_fs_type");
  assert.deepEqual(host.changes, [
    "mkdir /mnt/usb 755",
    "mkdir /mnt/usb/backup 755",
    MAIN_MOUNT,
    "rmdir /mnt/usb/backup",
    "rmdir /mnt/usb",
  ]);
  assert.equal(host.paths.has("/mnt/usb/backup"), false);
});

Deno.test("execute() never removes a directory it did not create", async () => {
  const host = new FakeHost();
  host.paths.set("/mnt/usb/backup", DIR);
  host.mount.output = output("mount: /mnt/usb/backup: unknown filesystem type 'ext4'.\n", 32);
  assert.equal(codeOf(await execute(host)), "unknown_fs");
  assert.deepEqual(host.changes, [MAIN_MOUNT]);
});

Deno.test("execute() says so when it cannot remove a directory it created", async () => {
  const host = new FakeHost();
  host.rmdirFails = true;
  host.mount.output = output("mount: /mnt/usb/backup: unknown filesystem type 'ext4'.\n", 32);
  const outcome = await execute(host);
  assert.equal(codeOf(outcome), "unknown_fs");
  assert.match(
    outcome.ok ? "" : outcome.message,
    /; Cannot remove the created directory "\/mnt\/usb\/backup": Device or resource busy$/,
  );
});

Deno.test("execute() refuses an unknown UUID before creating anything", async () => {
  const host = new FakeHost();
  host.fake = output(`mount: /mnt/usb/backup: can't find UUID=${base.uuid}.\n`, 1);
  assert.equal(codeOf(await execute(host)), "uuid_not_found");
  assert.deepEqual(host.changes, []);
});

Deno.test("execute() reports a mount that did not land on the target (mount_unverified)", async () => {
  const host = new FakeHost();
  // What the kernel would do through a symlink swapped in after the checks.
  host.mount.adds = [{ target: "/etc/x", source: DEVICE }];
  const outcome = await execute(host);
  assert.equal(codeOf(outcome), "mount_unverified");
  assert.match(outcome.ok ? "" : outcome.message, /the mount table shows it on "\/etc\/x"$/);
  assert.deepEqual(host.changes.at(-1), "rmdir /mnt/usb/backup");
});

Deno.test("execute() fails cleanly when findmnt's table cannot be read", async () => {
  const host = new FakeHost();
  host.run = (command) => {
    host.log.push(`run ${command.binary} ${command.args.join(" ")}`);
    return Promise.resolve(
      command.binary === "findmnt" ? output("findmnt: oops\n", 1) : host.fake,
    );
  };
  const outcome = await execute(host);
  assert.equal(codeOf(outcome), "command_failed");
  assert.match(outcome.ok ? "" : outcome.message, /Cannot run findmnt: exit code 1: findmnt: oops/);
  assert.deepEqual(host.changes, []);
});

Deno.test("execute() removes what it created when the host throws mid-way", async () => {
  const host = new FakeHost();
  const run = host.run.bind(host);
  host.run = (command) =>
    command.binary === "mount" && command.args[0] !== "--fake"
      ? Promise.reject(new Error("spawn refused"))
      : run(command);
  await assert.rejects(() => execute(host), /spawn refused/);
  assert.deepEqual(host.changes, ["mkdir /mnt/usb/backup 755", "rmdir /mnt/usb/backup"]);
});

Deno.test("execute() only ever names the base and paths one level below it", async () => {
  const host = new FakeHost();
  host.paths.delete("/mnt/usb");
  await execute(host);
  const named = host.log.flatMap((l) => /^(lstat|mkdir|rmdir) /.test(l) ? [l.split(" ")[1]!] : []);
  for (const path of named) assert.match(path, /^\/mnt\/usb(\/[^/]+)?$/);
});
