import assert from "node:assert/strict";
import { fixtureDir } from "../../tests/fixtures.ts";
import { parseSensors } from "../../ops/sensors/parse_sensors.ts";
import { parseSmartctl } from "../../ops/smart/parse_smartctl.ts";
import { sensorsTable, smartTable } from "./table.ts";

const smartDir = fixtureDir("smartctl");
const sensorsDir = fixtureDir("sensors");

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
  name: "sensorsTable() lists readings with units, no-limit dashes and the repairs",
  ignore: sensorsDir === undefined,
  fn() {
    const text = sensorsTable(parseSensors(Deno.readTextFileSync(
      `${sensorsDir}/sensors-j-INVALID-stderr-interleaved-coretemp-iwlwifi-nvme.txt`,
    )));
    const lines = text.split("\n");
    assert.match(lines[0]!, /^CHIP +LABEL +KIND +INPUT +MIN +MAX +CRIT +ALARM$/);
    assert.ok(lines.some((l) => /^nvme-pci-0400 +Sensor 1 +temp +35\.85 °C +- +- +- +-$/.test(l)));
    assert.ok(lines.some((l) => /^iwlwifi_1-virtual-0 +temp1 +temp +- /.test(l)));
    assert.equal(lines.at(-1), "repaired: dropped 1 non-JSON line(s), stderr merged into stdout");
  },
});

Deno.test("sensorsTable() says so when there are no sensors or the output was unreadable", () => {
  assert.equal(sensorsTable(parseSensors("{\n\n}\n", 1)), "No sensors found.");
  assert.match(
    sensorsTable(parseSensors("Try `sensors -h' for more information\n", 1)),
    /^Error: /,
  );
});
