/**
 * Real mounts by UUID through loop devices, with the real util-linux mount inside the fence.
 * Needs root and /dev/loop-control; skipped with the reason otherwise.
 */
import assert from "node:assert/strict";
import { findOp } from "../ops/mod.ts";
import { Launcher } from "../runtime/launcher.ts";

function skipReason(): string | undefined {
  if (Deno.uid() !== 0) return "not root";
  try {
    Deno.statSync("/dev/loop-control");
  } catch {
    return "/dev/loop-control is absent";
  }
  return undefined;
}

const reason = skipReason();
if (reason) console.log(`skip: real mount tests: ${reason}`);

const kernelFs = reason ? "" : Deno.readTextFileSync("/proc/filesystems");
const kernelHas = (fs: string) => new RegExp(`\\s${fs}$`, "m").test(kernelFs);

async function sh(command: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stderr: "piped" }).output();
  const err = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `${command} ${args.join(" ")}: ${err}`);
  return new TextDecoder().decode(output.stdout).trim();
}

interface Disk {
  readonly loop: string;
  readonly uuid: string;
}

async function makeDisk(dir: string, name: string, mkfs: string[]): Promise<Disk> {
  const image = `${dir}/${name}.img`;
  await sh("truncate", "-s", "32M", image);
  await sh(mkfs[0]!, ...mkfs.slice(1), image);
  const loop = await sh("losetup", "--find", "--show", image);
  const uuid = await sh("blkid", "-s", "UUID", "-o", "value", loop);
  return { loop, uuid };
}

Deno.test({
  name: "real mount: ext4 and vfat by UUID, fixed options, idempotent, classified failures",
  ignore: reason !== undefined,
  async fn(t) {
    const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence_mnt" }));
    const base = `${dir}/usb`;
    const launcher = await Launcher.create({ mountBase: base });
    const mount = findOp("mount-usb")!;
    const disks: Disk[] = [];
    const mounted: string[] = [];
    try {
      const ext4 = await makeDisk(dir, "ext4", ["mkfs.ext4", "-q"]);
      disks.push(ext4);
      const vfat = await makeDisk(dir, "vfat", ["mkfs.vfat"]);
      disks.push(vfat);
      const spare = await makeDisk(dir, "spare", ["mkfs.ext4", "-q"]);
      disks.push(spare);

      await t.step("ext4 mounts with nosuid,nodev,noexec at a created target", async () => {
        const target = `${base}/backup`;
        const run = await launcher.invoke(mount, { uuid: ext4.uuid, target, fsType: "ext4" });
        assert.equal(run.ok, true, JSON.stringify(run));
        mounted.push(target);
        const [source, options] = (await sh("findmnt", "-n", "-o", "SOURCE,OPTIONS", target))
          .split(/\s+/);
        assert.equal(source, ext4.loop);
        for (const option of ["nosuid", "nodev", "noexec", "rw"]) {
          assert.ok(options!.split(",").includes(option), `${option} missing in ${options}`);
        }
      });

      await t.step("mounting the same filesystem on the same target again is success", async () => {
        const target = `${base}/backup`;
        const run = await launcher.invoke(mount, { uuid: ext4.uuid, target, fsType: "ext4" });
        assert.equal(run.ok, true, JSON.stringify(run));
        assert.equal((run.result as { alreadyMounted: boolean }).alreadyMounted, true);
        assert.equal(run.command?.exitCode, 32);
      });

      await t.step("vfat mounts read-only where the kernel has vfat", async () => {
        const target = `${base}/camera/card1`;
        const input = { uuid: vfat.uuid, target, fsType: "vfat", readOnly: true };
        const run = await launcher.invoke(mount, input);
        if (!kernelHas("vfat")) {
          console.log("skip: vfat mount: this kernel has no vfat in /proc/filesystems");
          assert.equal(run.error?.code, "unknown_fs", JSON.stringify(run));
          return;
        }
        assert.equal(run.ok, true, JSON.stringify(run));
        mounted.push(target);
        const options = await sh("findmnt", "-n", "-o", "OPTIONS", target);
        for (const option of ["ro", "nosuid", "nodev", "noexec"]) {
          assert.ok(options.split(",").includes(option), `${option} missing in ${options}`);
        }
      });

      await t.step("an absent UUID is uuid_not_found", async () => {
        const run = await launcher.invoke(mount, {
          uuid: "00000000-0000-4000-8000-000000000000",
          target: `${base}/nothing`,
          fsType: "ext4",
        });
        assert.equal(run.error?.code, "uuid_not_found", JSON.stringify(run));
      });

      await t.step("the wrong filesystem type is wrong_fs_type (or unknown_fs)", async () => {
        const fsType = kernelHas("xfs") ? "xfs" : "btrfs";
        const run = await launcher.invoke(mount, {
          uuid: spare.uuid,
          target: `${base}/wrong`,
          fsType,
        });
        const expected = kernelHas(fsType) ? "wrong_fs_type" : "unknown_fs";
        assert.equal(run.error?.code, expected, JSON.stringify(run));
      });

      await t.step("readOnly adds ro and keeps nosuid,nodev,noexec", async () => {
        const target = `${base}/archive`;
        const run = await launcher.invoke(mount, {
          uuid: spare.uuid,
          target,
          fsType: "ext4",
          readOnly: true,
        });
        assert.equal(run.ok, true, JSON.stringify(run));
        mounted.push(target);
        const options = (await sh("findmnt", "-n", "-o", "OPTIONS", target)).split(",");
        for (const option of ["ro", "nosuid", "nodev", "noexec"]) {
          assert.ok(options.includes(option), `${option} missing in ${options}`);
        }
      });

      await t.step(
        "a filesystem mounted elsewhere, asked for as another type, is already_mounted",
        async () => {
          const run = await launcher.invoke(mount, {
            uuid: ext4.uuid,
            target: `${base}/elsewhere`,
            fsType: "xfs",
          });
          assert.equal(run.error?.code, "already_mounted", JSON.stringify(run));
          assert.match(String(run.error?.message), /already mounted on .*\/usb\/backup/);
        },
      );
    } finally {
      for (const target of mounted.reverse()) await sh("umount", target).catch(console.error);
      for (const disk of disks) await sh("losetup", "-d", disk.loop).catch(console.error);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
