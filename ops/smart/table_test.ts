import assert from "node:assert/strict";
import { fixtureDir } from "../../tests/fixtures.ts";
import { parseSmartctl } from "./parse_smartctl.ts";
import { smartTable } from "./table.ts";

const smartDir = fixtureDir("smartctl");

Deno.test({
  name: "smartTable() shows device, model, health, every reason, temperature, hours and wear",
  ignore: smartDir === undefined,
  fn() {
    const text = smartTable(
      parseSmartctl(Deno.readTextFileSync(`${smartDir}/nvme-samsung-970evo-media-errors-7.json`)),
    );
    assert.deepEqual(text.split("\n"), [
      "Device    /dev/nvme0 (nvme, NVMe)",
      "Model     Samsung SSD 970 EVO 500GB",
      "Serial    S466NX0M776250H   firmware 2B2QEXE7",
      "Health    WARNING",
      "Reasons   - NVMe media_errors 7 > 0",
      "Temp      35 °C",
      "Power-on  12798 h",
      "Cycles    25",
      "Wear      3% used",
      "Exit      0",
    ]);
  },
});

Deno.test({
  name: "smartTable() shows an exit status no capture recorded as unknown",
  ignore: smartDir === undefined,
  fn() {
    const whole = JSON.parse(
      Deno.readTextFileSync(`${smartDir}/ata-sat-hdd-wdc-wd140edfz-pass.json`),
    );
    const { smartctl: _, ...trimmed } = whole;
    const text = smartTable(parseSmartctl(JSON.stringify(trimmed)));
    assert.match(text, /^Exit +unknown$/m);
    assert.match(text, /^Health +OK$/m);
  },
});
