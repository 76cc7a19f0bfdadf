import assert from "node:assert/strict";
import { fixtureDir } from "../../tests/fixtures.ts";
import type { SmartDisk, SmartDisks } from "./disks.ts";
import { type SmartFailOn, smartFailOn } from "./fail_on.ts";
import { parseSmartctl } from "./parse_smartctl.ts";

const dir = fixtureDir("smartctl");

/** One real capture per verdict, and which `--fail-on` levels it fails. */
const FAILS: Record<string, readonly SmartFailOn[]> = {
  "usb-jmicron-hdd-hitachi-failing-exit216.json": ["failing", "warning"],
  "nvme-samsung-970evo-media-errors-7.json": ["warning"],
  "ata-sat-hdd-wdc-wd140edfz-pass.json": [],
  "ata-sat-attributes-only-A.json": [],
};

Deno.test({
  name: "smartFailOn fails failing at failing, warning and worse at warning, nothing at never",
  ignore: dir === undefined,
  fn() {
    for (const [name, failed] of Object.entries(FAILS)) {
      const report = parseSmartctl(Deno.readTextFileSync(`${dir}/${name}`));
      for (const level of smartFailOn.levels) {
        const why = smartFailOn.fails(report, level);
        assert.equal(why !== undefined, failed.includes(level), `${name} at ${level}`);
        if (why !== undefined) assert.equal(why, `health is "${report.health}"`);
      }
    }
  },
});

Deno.test("smartFailOn defaults to failing, like smartctl's DISK FAILING bit", () => {
  assert.equal(smartFailOn.fallback, "failing");
  assert.ok(smartFailOn.levels.includes(smartFailOn.fallback));
});

Deno.test({
  name: "smartFailOn fails an all-disk read on its worst disk, naming every disk that fails",
  ignore: dir === undefined,
  fn() {
    const read = (device: string, name: string): SmartDisk => ({
      device,
      deviceType: "sat",
      protocol: "ATA",
      status: "read",
      report: parseSmartctl(Deno.readTextFileSync(`${dir}/${name}`)),
    });
    const healthy = read("/dev/sda", "ata-sat-hdd-wdc-wd140edfz-pass.json");
    const warning = read("/dev/nvme0", "nvme-samsung-970evo-media-errors-7.json");
    const failing = read("/dev/sdc", "usb-jmicron-hdd-hitachi-failing-exit216.json");
    const skipped: SmartDisk = {
      device: "/dev/twa0",
      deviceType: "3ware,0",
      protocol: "ATA",
      status: "skipped",
      reason: "device: must be a whole-disk device",
    };
    const unread: SmartDisk = {
      device: "/dev/sdb",
      deviceType: "sat",
      protocol: "ATA",
      status: "failed",
      error: { code: "device_open_failed", message: 'Cannot open "/dev/sdb"' },
    };
    const all = (...disks: SmartDisk[]): SmartDisks => ({
      disks,
      counts: { found: disks.length, read: 0, failed: 0, skipped: 0 },
    });
    const fails = (result: SmartDisks) =>
      smartFailOn.levels.map((level) => smartFailOn.fails(result, level));

    assert.deepEqual(fails(all()), [undefined, undefined, undefined]);
    assert.deepEqual(fails(all(healthy, skipped)), [undefined, undefined, undefined]);
    assert.deepEqual(fails(all(healthy, warning)), [
      undefined,
      '/dev/nvme0: health is "warning"',
      undefined,
    ]);
    assert.deepEqual(fails(all(warning, failing, unread)), [
      '/dev/sdc: health is "failing"; /dev/sdb: not read (device_open_failed)',
      '/dev/nvme0: health is "warning"; /dev/sdc: health is "failing"; ' +
      "/dev/sdb: not read (device_open_failed)",
      undefined,
    ]);
  },
});
