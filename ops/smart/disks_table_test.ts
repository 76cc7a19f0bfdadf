import assert from "node:assert/strict";
import { fixtureDir } from "../../tests/fixtures.ts";
import type { SmartDisks } from "./disks.ts";
import { smartDisksTable } from "./disks_table.ts";
import { parseSmartctl } from "./parse_smartctl.ts";
import { smartTable } from "./table.ts";

const dir = fixtureDir("smartctl");

Deno.test({
  name: "smartDisksTable() counts the disks, then shows one block per disk, read or not",
  ignore: dir === undefined,
  fn() {
    const report = parseSmartctl(
      Deno.readTextFileSync(`${dir}/nvme-samsung-970evo-media-errors-7.json`),
    );
    const result: SmartDisks = {
      disks: [
        { device: "/dev/nvme0", deviceType: "nvme", protocol: "NVMe", status: "read", report },
        {
          device: "/dev/sda",
          deviceType: "sat",
          protocol: "ATA",
          status: "failed",
          error: { code: "device_open_failed", message: 'Cannot open "/dev/sda": No such device' },
        },
        {
          device: "/dev/twa0",
          deviceType: "3ware,0",
          protocol: null,
          status: "skipped",
          reason: "device: must be a whole-disk device such as /dev/sda",
        },
      ],
      counts: { found: 3, read: 1, failed: 1, skipped: 1 },
    };
    const blocks = smartDisksTable(result).split("\n\n");
    assert.deepEqual(blocks, [
      "Disks     3 found: 1 read, 1 not read, 1 skipped",
      smartTable(report),
      [
        "Device    /dev/sda (sat, ATA)",
        "Health    NOT READ",
        'Error     device_open_failed: Cannot open "/dev/sda": No such device',
      ].join("\n"),
      [
        "Device    /dev/twa0 (3ware,0)",
        "Health    SKIPPED",
        "Reason    device: must be a whole-disk device such as /dev/sda",
      ].join("\n"),
    ]);
  },
});
