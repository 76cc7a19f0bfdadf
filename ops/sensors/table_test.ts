import assert from "node:assert/strict";
import { fixtureDir } from "../../tests/fixtures.ts";
import { parseSensors } from "./parse_sensors.ts";
import { sensorsTable } from "./table.ts";

const sensorsDir = fixtureDir("sensors");

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
