/**
 * The real Debian smartctl and sensors through the fenced launcher, on this machine's real
 * hardware (or its absence): the error paths they really produce, classified.
 */
import assert from "node:assert/strict";
import { findOp } from "../ops/mod.ts";
import type { SmartDisks } from "../ops/smart/disks.ts";
import { Launcher } from "../runtime/process/launcher.ts";

const launcher = await Launcher.create();
const has = (name: "smartctl" | "sensors") => {
  if (launcher.binaries[name] !== undefined) return true;
  console.log(`skip: real ${name} is not installed (apt-get install smartmontools lm-sensors)`);
  return false;
};

Deno.test({
  name: "real sensors -j: chips where the host has them, a clean 'no sensors' where it has none",
  ignore: !has("sensors"),
  async fn() {
    const run = await launcher.invoke(findOp("sensors")!, {});
    assert.equal(run.ok, true, JSON.stringify(run.error));
    const result = run.result as { noSensors: boolean; chips: unknown[] };
    if (result.noSensors) {
      // lm-sensors 3.6.0 exits 1 and prints "No sensors found!" on stderr here.
      assert.equal(run.command?.exitCode, 1);
      assert.match(run.command!.stderrTail, /No sensors found!/);
    } else {
      assert.ok(result.chips.length > 0);
    }
  },
});

Deno.test({
  name: "real smartctl: a missing disk is device_open_failed with smartctl's own message",
  ignore: !has("smartctl"),
  async fn() {
    const run = await launcher.invoke(findOp("smart")!, { device: "/dev/sdzz" });
    assert.equal(run.error?.code, "device_open_failed", JSON.stringify(run));
    assert.match(String(run.error?.message), /Smartctl open device: \/dev\/sdzz failed/);
    assert.equal(run.command?.exitCode, 2);
  },
});

Deno.test({
  name: "real smartctl: an undetectable device is unknown_device_type",
  ignore: !has("smartctl"),
  async fn() {
    const run = await launcher.invoke(findOp("smart")!, {
      device: "/dev/disk/by-id/rootfence-no-such-disk",
    });
    assert.equal(run.error?.code, "unknown_device_type", JSON.stringify(run));
    assert.equal(run.command?.exitCode, 1);
  },
});

Deno.test({
  name: "real smartctl: -d nvme on a missing controller is device_open_failed",
  ignore: !has("smartctl"),
  async fn() {
    const run = await launcher.invoke(findOp("smart")!, {
      device: "/dev/nvme9",
      deviceType: "nvme",
    });
    assert.equal(run.error?.code, "device_open_failed", JSON.stringify(run));
    assert.deepEqual(run.argv.slice(1), ["-a", "-j", "-d", "nvme", "/dev/nvme9"]);
  },
});

Deno.test({
  name: "real smartctl without a device: one entry per disk the scan finds (none in this VM)",
  ignore: !has("smartctl"),
  async fn() {
    const run = await launcher.invoke(findOp("smart")!, {});
    assert.equal(run.ok, true, JSON.stringify(run.error));
    assert.deepEqual(run.argv.slice(1), ["--scan-open", "-j"]);
    assert.equal(run.command?.exitCode, 0);
    const result = run.result as SmartDisks;
    assert.equal(result.disks.length, result.counts.found);
    if (result.counts.found === 0) {
      // smartctl 7.3 lists no virtio disk: here that is an empty list, not an error.
      console.log("note: smartctl --scan-open found no disk on this machine");
      assert.deepEqual(result.disks, []);
    }
    for (const disk of result.disks) {
      assert.ok(["read", "failed", "skipped"].includes(disk.status), JSON.stringify(disk));
    }
  },
});
