import assert from "node:assert/strict";
import { fixtureDir } from "../../tests/fixtures.ts";
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
