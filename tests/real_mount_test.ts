/**
 * Real mounts by UUID through loop devices, with the real util-linux mount and findmnt inside
 * the fence, and the attacks of issue 9 performed for real: each must be refused with a clear
 * error and leave the host as it was (the mount table, and no directory made outside the base).
 * Needs root, /dev/loop-control, losetup, blkid and mkfs.ext4; skipped with the reason otherwise.
 * Everything lives in one temporary directory, unmounted and detached even when a step fails.
 */
import assert from "node:assert/strict";
import { findOp } from "../ops/mod.ts";
import { type Invocation, Launcher } from "../runtime/process/launcher.ts";

const TOOLS = ["losetup", "blkid", "mkfs.ext4", "umount", "findmnt"];

function skipReason(): string | undefined {
  if (Deno.uid() !== 0) return "not root";
  try {
    Deno.statSync("/dev/loop-control");
  } catch {
    return "/dev/loop-control is absent";
  }
  const dirs = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  const missing = TOOLS.find((tool) => !dirs.some((d) => isProgram(`${d}/${tool}`)));
  return missing === undefined ? undefined : `${missing} is not installed`;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether `path` is a program (following links): a regular file someone may execute. */
function isProgram(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

const reason = skipReason();
if (reason) console.log(`skip: real mount tests: ${reason}`);

const kernelFs = reason ? "" : Deno.readTextFileSync("/proc/filesystems");
const kernelHas = (fs: string) => new RegExp(`\\s${fs}$`, "m").test(kernelFs);
const mount = findOp("mount-usb")!;

async function sh(command: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stderr: "piped" }).output();
  const err = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `${command} ${args.join(" ")}: ${err}`);
  return new TextDecoder().decode(output.stdout).trim();
}

/** Mount points below `dir` and what is mounted there, from /proc/self/mountinfo. */
function mountsUnder(dir: string): string[] {
  const unescape = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n").filter(Boolean).map((line) => {
    const fields = line.split(" ");
    const source = fields[fields.indexOf("-") + 2] ?? "";
    return `${unescape(fields[4]!)} ${source} ${fields[5]}`;
  }).filter((entry) => entry.startsWith(`${dir}/`));
}

/** Every path below `dir`, not descending into mounted filesystems. */
function treeOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    for (const entry of Deno.readDirSync(path)) {
      const child = `${path}/${entry.name}`;
      out.push(child);
      if (entry.isDirectory && !entry.isSymlink) walk(child);
    }
  };
  walk(dir);
  return out.sort();
}

interface Disk {
  readonly loop: string;
  readonly uuid: string;
}

Deno.test({
  name: "real mount: by UUID below a safe base, and every escape of issue 9 refused",
  ignore: reason !== undefined,
  async fn(t) {
    const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence_mnt" }));
    await Deno.chmod(dir, 0o755);
    const base = `${dir}/usb`;
    const outside = `${dir}/outside`;
    await Deno.mkdir(base, { mode: 0o755 });
    await Deno.mkdir(outside, { mode: 0o755 });
    const launcher = await Launcher.create({ settings: { mountBase: base } });
    const disks: Disk[] = [];

    async function makeDisk(name: string, mkfs: string[], options: string[] = []): Promise<Disk> {
      const image = `${dir}/${name}.img`;
      await sh("truncate", "-s", "32M", image);
      await sh(mkfs[0]!, ...mkfs.slice(1), image);
      const loop = await sh("losetup", ...options, "--find", "--show", image);
      const disk = { loop, uuid: await sh("blkid", "-s", "UUID", "-o", "value", loop) };
      disks.push(disk);
      return disk;
    }

    const invoke = (input: Record<string, unknown>, using = launcher) =>
      using.invoke(mount, { fsType: "ext4", ...input });
    const codeOf = (run: Invocation) => run.ok ? "ok" : String(run.error?.code);
    const show = (run: Invocation) => JSON.stringify(run.error ?? run.result);

    /** Runs an attack and asserts the host did not change: mount table and the files outside. */
    async function refused(run: () => Promise<Invocation>, code: string, message: RegExp) {
      const mountsBefore = mountsUnder(dir);
      const outsideBefore = treeOf(outside);
      const baseBefore = treeOf(base).filter((p) => !p.startsWith(`${base}/a/`));
      const result = await run();
      assert.equal(codeOf(result), code, show(result));
      assert.match(String(result.error?.message), message);
      assert.deepEqual(mountsUnder(dir), mountsBefore, "the mount table changed");
      assert.deepEqual(treeOf(outside), outsideBefore, "something appeared outside the base");
      assert.deepEqual(
        treeOf(base).filter((p) => !p.startsWith(`${base}/a/`)),
        baseBefore,
        "a directory was left in the base",
      );
      return result;
    }

    try {
      // Filesystem A carries the attacker's tree: esc -> a directory outside the base, and a
      // world-writable directory (what a service user could use in sudo mode).
      const tree = `${dir}/tree`;
      await Deno.mkdir(`${tree}/open`, { recursive: true });
      await Deno.chmod(`${tree}/open`, 0o777);
      await Deno.symlink(outside, `${tree}/esc`);
      const a = await makeDisk("a", ["mkfs.ext4", "-q", "-d", tree]);
      const b = await makeDisk("b", ["mkfs.ext4", "-q"]);
      const c = await makeDisk("c", ["mkfs.ext4", "-q"]);

      await t.step("ext4 mounts on a target it creates, with nosuid,nodev,noexec", async () => {
        const run = await invoke({ uuid: a.uuid, target: `${base}/a` });
        assert.equal(run.ok, true, show(run));
        const result = run.result as Record<string, unknown>;
        assert.equal(result.device, a.loop);
        assert.equal(result.alreadyMounted, false);
        const [source, options] = (await sh("findmnt", "-n", "-o", "SOURCE,OPTIONS", `${base}/a`))
          .split(/\s+/);
        assert.equal(source, a.loop);
        for (const option of ["nosuid", "nodev", "noexec", "rw"]) {
          assert.ok(options!.split(",").includes(option), `${option} missing in ${options}`);
        }
        assert.equal((await Deno.lstat(`${base}/a/esc`)).isSymlink, true, "A's symlink is there");
      });

      await t.step(
        "the same filesystem on the same target again is success, unchanged",
        async () => {
          const before = mountsUnder(dir);
          const run = await invoke({ uuid: a.uuid, target: `${base}/a` });
          assert.equal(run.ok, true, show(run));
          assert.equal((run.result as { alreadyMounted: boolean }).alreadyMounted, true);
          assert.deepEqual(mountsUnder(dir), before);
        },
      );

      await t.step("attack: B on <base>/a/esc (a symlink out of the base) is refused", async () => {
        const run = await refused(
          () => invoke({ uuid: b.uuid, target: `${base}/a/esc` }),
          "invalid_input",
          /does not match its schema/,
        );
        const issues = run.error?.issues as { message: string }[];
        assert.match(issues[0]!.message, /exactly one level below/);
        assert.equal(mountsUnder(outside).length, 0, "nothing mounted on the symlink's target");
      });

      await t.step(
        "attack: a target inside a world-writable dir of a mounted fs is refused",
        async () => {
          await refused(
            () => invoke({ uuid: b.uuid, target: `${base}/a/open/x` }),
            "invalid_input",
            /does not match its schema/,
          );
          assert.deepEqual([...Deno.readDirSync(`${base}/a/open`)], [], "nothing made in open/");
        },
      );

      await t.step(
        "attack: a symlink directly in the base is refused (target_unsafe)",
        async () => {
          await Deno.symlink(outside, `${base}/link`);
          try {
            await refused(
              () => invoke({ uuid: b.uuid, target: `${base}/link` }),
              "target_unsafe",
              /"[^"]*\/usb\/link": it is a symlink; a mount point must be a plain directory/,
            );
          } finally {
            await Deno.remove(`${base}/link`);
          }
        },
      );

      await t.step("a target that is a file is refused (target_unsafe)", async () => {
        await Deno.writeTextFile(`${base}/file`, "");
        try {
          await refused(
            () => invoke({ uuid: b.uuid, target: `${base}/file` }),
            "target_unsafe",
            /it is a file/,
          );
        } finally {
          await Deno.remove(`${base}/file`);
        }
      });

      await t.step("a target that is another filesystem's mount point is target_busy", async () => {
        await refused(
          () => invoke({ uuid: b.uuid, target: `${base}/a` }),
          "target_busy",
          new RegExp(`already the mount point of ${a.loop} \\(ext4\\)`),
        );
      });

      await t.step("a UUID mounted elsewhere is already_mounted, naming where", async () => {
        await refused(
          () => invoke({ uuid: a.uuid, target: `${base}/other` }),
          "already_mounted",
          new RegExp(`it is already mounted on "${base}/a"$`),
        );
      });

      await t.step("<base>/x is never taken for <base>/x.y (whole paths compared)", async () => {
        const first = await invoke({ uuid: c.uuid, target: `${base}/x.y` });
        assert.equal(first.ok, true, show(first));
        await refused(
          () => invoke({ uuid: c.uuid, target: `${base}/x` }),
          "already_mounted",
          new RegExp(`already mounted on "${base}/x\\.y"$`),
        );
      });

      await t.step(
        "a read-write mount the kernel made read-only is mounted_read_only",
        async () => {
          const ro = await makeDisk("ro", ["mkfs.ext4", "-q"], ["--read-only"]);
          const run = await invoke({ uuid: ro.uuid, target: `${base}/ro` });
          assert.equal(codeOf(run), "mounted_read_only", show(run));
          assert.match(
            String(run.error?.message),
            /write-protected, so the kernel mounted it read-only/,
          );
          const options = (await sh("findmnt", "-n", "-o", "OPTIONS", `${base}/ro`)).split(",");
          assert.ok(options.includes("ro"), options.join(","));
          // Asked again read-write: the same answer, never success.
          assert.equal(
            codeOf(await invoke({ uuid: ro.uuid, target: `${base}/ro` })),
            "mounted_read_only",
          );
          // Asked read-only: that is what is there.
          const accepted = await invoke({ uuid: ro.uuid, target: `${base}/ro`, readOnly: true });
          assert.equal(accepted.ok, true, show(accepted));
          assert.equal((accepted.result as { alreadyMounted: boolean }).alreadyMounted, true);
        },
      );

      await t.step("a failed mount removes the target it created", async () => {
        const fsType = kernelHas("xfs") ? "xfs" : "btrfs";
        const expected = kernelHas(fsType) ? "wrong_fs_type" : "unknown_fs";
        await refused(
          () => invoke({ uuid: b.uuid, target: `${base}/wrong`, fsType }),
          expected,
          /Cannot mount UUID=/,
        );
        assert.equal(exists(`${base}/wrong`), false);
      });

      await t.step("an absent UUID is uuid_not_found and creates nothing", async () => {
        await refused(
          () => invoke({ uuid: "00000000-0000-4000-8000-000000000000", target: `${base}/none` }),
          "uuid_not_found",
          /can't find UUID=/,
        );
      });

      await t.step("readOnly adds ro and keeps nosuid,nodev,noexec", async () => {
        const run = await invoke({ uuid: b.uuid, target: `${base}/archive`, readOnly: true });
        assert.equal(run.ok, true, show(run));
        const options = (await sh("findmnt", "-n", "-o", "OPTIONS", `${base}/archive`)).split(",");
        for (const option of ["ro", "nosuid", "nodev", "noexec"]) {
          assert.ok(options.includes(option), `${option} missing in ${options}`);
        }
      });

      await t.step("vfat mounts read-only where the kernel has vfat", async () => {
        if (!isProgram("/usr/sbin/mkfs.vfat") && !isProgram("/sbin/mkfs.vfat")) {
          console.log("skip: vfat mount: mkfs.vfat (dosfstools) is not installed");
          return;
        }
        const vfat = await makeDisk("vfat", ["mkfs.vfat"]);
        const input = { uuid: vfat.uuid, target: `${base}/camera`, fsType: "vfat", readOnly: true };
        const run = await invoke(input);
        if (!kernelHas("vfat")) {
          console.log("skip: vfat mount: this kernel has no vfat in /proc/filesystems");
          assert.equal(run.error?.code, "unknown_fs", show(run));
          return;
        }
        assert.equal(run.ok, true, show(run));
      });

      await t.step(
        "a base reached through a symlink is refused before any child runs",
        async () => {
          await Deno.symlink(base, `${dir}/linked`);
          const linked = await Launcher.create({ settings: { mountBase: `${dir}/linked` } });
          assert.match(
            Object.values(linked.baseProblems).flat().join("; "),
            /linked" is a symlink/,
          );
          await refused(
            () => invoke({ uuid: b.uuid, target: `${dir}/linked/y` }, linked),
            "mount_base_unsafe",
            /^Cannot run "mount-usb": mount base "[^"]*\/linked" is unsafe: "[^"]*\/linked" is a symlink$/,
          );
          // The child checks again as root, even when its launcher was told the base is fine.
          const trusting = await Launcher.create({
            settings: { mountBase: `${dir}/linked` },
            baseProblems: {},
          });
          await refused(
            () => invoke({ uuid: b.uuid, target: `${dir}/linked/y` }, trusting),
            "mount_base_unsafe",
            /mount base "[^"]*\/linked" is a symlink/,
          );
        },
      );

      await t.step("a base writable by group or others is refused", async () => {
        const open = `${dir}/open-base`;
        await Deno.mkdir(open);
        await Deno.chmod(open, 0o775);
        const launcherOpen = await Launcher.create({ settings: { mountBase: open } });
        await refused(
          () => invoke({ uuid: b.uuid, target: `${open}/y` }, launcherOpen),
          "mount_base_unsafe",
          /is writable by group or others \(mode 775\)/,
        );
        const trusting = await Launcher.create({
          settings: { mountBase: open },
          baseProblems: {},
        });
        await refused(
          () => invoke({ uuid: b.uuid, target: `${open}/y` }, trusting),
          "mount_base_unsafe",
          /writable by group or others/,
        );
      });

      await t.step("a missing base is created 0755 by the first mount below it", async () => {
        const fresh = `${dir}/fresh`;
        const freshLauncher = await Launcher.create({ settings: { mountBase: fresh } });
        assert.deepEqual(Object.values(freshLauncher.baseProblems).flat(), []);
        const ext = await makeDisk("fresh", ["mkfs.ext4", "-q"]);
        const run = await invoke({ uuid: ext.uuid, target: `${fresh}/disk` }, freshLauncher);
        assert.equal(run.ok, true, show(run));
        const info = await Deno.lstat(fresh);
        assert.equal(info.isDirectory && info.uid === 0 && (info.mode! & 0o7777), 0o755);
      });
    } finally {
      // Deepest and latest first; a few rounds for stacked mounts.
      for (let round = 0; round < 3; round++) {
        for (const entry of mountsUnder(dir).reverse()) {
          await sh("umount", entry.split(" ")[0]!).catch(console.error);
        }
      }
      for (const disk of disks) await sh("losetup", "-d", disk.loop).catch(console.error);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
