import assert from "node:assert/strict";
import { fixtureDir, fixtureNames } from "../../tests/fixtures.ts";
import { parseSmartctl } from "./parse_smartctl.ts";
import type { Health } from "./report.ts";
import { parseSmartctlScan } from "./scan.ts";

const dir = fixtureDir("smartctl");
const read = (name: string) => Deno.readTextFileSync(`${dir}/${name}`);

/**
 * The verdict for every real capture, checked by hand against its description in
 * tests/testdata/README.md and the rules; for warning and failing drives, the exact reasons.
 */
const VERDICTS: Record<string, [Health, string[]?]> = {
  "ata-hdd-hgst-hms5c4040-device-ata.json": ["ok", []],
  "ata-sat-attributes-only-A.json": ["unknown", ["no SMART overall-health status in the output"]],
  "ata-sat-hdd-wd-red-1tb.json": ["ok", []],
  "ata-sat-hdd-wd-wd181kryz-7.3.json": ["ok", []],
  "ata-sat-hdd-wdc-wd140edfz-pass.json": ["ok", []],
  "ata-sat-health-only-H.json": ["ok", []],
  "ata-sat-ssd-intel-dc-s3500.json": ["ok", []],
  "ata-sat-ssd-samsung-840-xall.json": ["ok", []],
  "ata-sat-ssd-samsung-860evo-xall.json": ["ok", []],
  "ata-sat-ssd-wd-red-sa500-4tb-7.3.json": ["ok", []],
  "ata-ssd-samsung-850pro-windows.json": ["ok", []],
  "error-windows-open-failed-exit2.json": ["unknown", ["exit bit 1 set: device open failed"]],
  "info-nvme-kioxia-kcd61lul3t84.json": ["unknown"],
  "local-smartctl-a-j-d-bogus-type.json": ["unknown"],
  "local-smartctl-a-j-d-sat-loop0-permission-denied.json": ["unknown"],
  "local-smartctl-a-j-d-sat-loop0.json": ["unknown"],
  "local-smartctl-a-j-d-scsi-loop0.json": ["unknown"],
  "local-smartctl-a-j-dev-does-not-exist.json": ["unknown"],
  "local-smartctl-a-j-dev-null.json": ["unknown"],
  "local-smartctl-a-j-loop0-autodetect.json": ["unknown"],
  "local-smartctl-a-j-no-device-arg.json": ["unknown"],
  "local-smartctl-a-j-virtio-vda.json": ["unknown"],
  "local-smartctl-a-json-o-d-sat-loop0.json": ["unknown"],
  "megaraid-sat-seagate-st6000nm0115-exit4.json": ["ok", [
    "exit bit 2 set: a SMART or ATA command failed",
  ]],
  "megaraid-sat-wd4000fyyx-disk0-exit4.json": ["ok", [
    "exit bit 2 set: a SMART or ATA command failed",
  ]],
  "nvme-corsair-force-mp510.json": ["ok", []],
  "nvme-intel-660p-ssdpeknw010t8.json": ["ok", []],
  "nvme-samsung-970evo-media-errors-7.json": ["warning", ["NVMe media_errors 7 > 0"]],
  "nvme-samsung-970evo-plus-250g-7.3.json": ["ok", []],
  "scsi-hp-mas3735nc-7.4.json": ["ok", []],
  "scsi-intel-raid1-volume-windows-exit4.json": ["unknown", [
    "exit bit 2 set: a SMART or ATA command failed",
    "no SMART overall-health status in the output",
  ]],
  "scsi-sas-7.2-masked.json": ["ok", []],
  "scsi-sas-7.3-redacted.json": ["ok", []],
  "scsi-sas-hdd-wd4001fyyg-background-scan.json": ["ok", []],
  "scsi-sas-hitachi-h109060sesun600g-7.3.json": ["ok", []],
  "scsi-sas-seagate-7.4-farm-log.json": ["ok", []],
  "scsi-sas-seagate-st600mp0036-7.3.json": ["ok", []],
  "scsi-sas-ssd-hgst-husmr3280-endurance.json": ["ok", []],
  "scsi-seagate-st373453lc-grown-defects-260.json": ["warning", [
    "SCSI grown defect list has 260 entries",
    "SCSI read log: 1 uncorrected errors",
    "SCSI write log: 535 uncorrected errors",
  ]],
  "usb-jmicron-hdd-hitachi-failing-exit216.json": ["failing", [
    "SMART overall-health self-assessment failed",
    "attribute 5 Reallocated_Sector_Ct is failing now (value 1 <= thresh 5)",
    "exit bit 3 set: SMART status says DISK FAILING",
    "exit bit 4 set: prefail attributes at or below threshold now",
    "attribute 5 Reallocated_Sector_Ct raw 1975 > 0",
    "attribute 197 Current_Pending_Sector raw 8 > 0",
    "exit bit 6 set: device error log has records",
    "exit bit 7 set: self-test log has errors",
  ]],
};

/** `--scan -j` captures and how many devices each lists. */
const SCANS: Record<string, number> = {
  "local-smartctl-scan-j-no-devices.json": 0,
  "local-smartctl-scan-open-j-no-devices.json": 0,
  "scan-megaraid.json": -1,
  "scan-nvme.json": -1,
  "scan-sat-and-nvme-7.4.json": -1,
};

Deno.test({
  name: "parseSmartctl() gives every real capture its verdict and reasons",
  ignore: dir === undefined,
  fn() {
    const names = fixtureNames(dir, /\.json$/).filter((n) => !(n in SCANS));
    const missing = names.filter((n) => !(n in VERDICTS));
    assert.deepEqual(missing, [], "captures without an asserted verdict");
    for (const name of names) {
      const [health, reasons] = VERDICTS[name]!;
      const report = parseSmartctl(read(name));
      assert.equal(report.health, health, name);
      if (reasons) assert.deepEqual(report.reasons, reasons, name);
      assert.equal(report.parseError, undefined, name);
    }
  },
});

Deno.test({
  name: "parseSmartctl() reads identity, counters and wear across protocols (real captures)",
  ignore: dir === undefined,
  fn() {
    const nvme = parseSmartctl(read("nvme-samsung-970evo-media-errors-7.json"));
    assert.equal(nvme.device.protocol, "NVMe");
    assert.equal(nvme.model, "Samsung SSD 970 EVO 500GB");
    assert.equal(nvme.temperatureC, 35);
    assert.equal(nvme.powerOnHours, 12798);
    assert.equal(nvme.wearPercentUsed, 3);
    assert.equal(nvme.nvme?.mediaErrors, 7);

    const sas = parseSmartctl(read("scsi-sas-seagate-st600mp0036-7.3.json"));
    assert.equal(sas.model, "SEAGATE ST600MP0036", "7.3 SCSI identity from scsi_vendor/product");
    assert.equal(sas.scsi?.errorCounters.length, 3);
    assert.equal(sas.powerCycles, 1090);

    const failing = parseSmartctl(read("usb-jmicron-hdd-hitachi-failing-exit216.json"));
    assert.equal(failing.device.type, "usbjmicron");
    assert.deepEqual(failing.exitStatus?.bits, [
      "diskFailing",
      "prefailAttributeBelowThreshold",
      "errorLogHasErrors",
      "selfTestLogHasErrors",
    ]);
    const attr5 = failing.ata?.attributes.find((a) => a.id === 5);
    assert.deepEqual(
      { raw: attr5?.raw, whenFailed: attr5?.whenFailed, prefailure: attr5?.prefailure },
      { raw: 1975, whenFailed: "now", prefailure: true },
    );

    const ssd = parseSmartctl(read("ata-sat-ssd-samsung-860evo-xall.json"));
    assert.equal(ssd.wearPercentUsed, 19);
    const denied = parseSmartctl(read("local-smartctl-a-j-d-sat-loop0-permission-denied.json"));
    assert.deepEqual(denied.messages, [{
      severity: "error",
      text: "Smartctl open device: /dev/loop0 [SAT] failed: Permission denied",
    }]);
  },
});

Deno.test({
  name: "parseSmartctlScan() lists devices and reads a missing devices key as none (real)",
  ignore: dir === undefined,
  fn() {
    for (const [name, count] of Object.entries(SCANS)) {
      const scan = parseSmartctlScan(read(name));
      assert.equal(scan.error, undefined, name);
      if (count >= 0) assert.equal(scan.devices.length, count, name);
      else assert.ok(scan.devices.length > 0, name);
    }
    const megaraid = parseSmartctlScan(read("scan-megaraid.json"));
    assert.ok(megaraid.devices.some((d) => d.type?.includes("megaraid,")));
  },
});

Deno.test("parseSmartctl() prefers the _s string of a counter too large for a number (synthetic)", () => {
  const report = parseSmartctl(JSON.stringify({
    smartctl: { exit_status: 0 },
    device: { protocol: "NVMe" },
    smart_status: { passed: true },
    nvme_smart_health_information_log: {
      critical_warning: 0,
      data_units_written: 1.8446744073709552e19,
      data_units_written_s: "18446744073709551616",
      media_errors: 0,
      percentage_used: 100,
    },
  }));
  assert.equal(report.nvme?.dataUnitsWritten, "18446744073709551616");
  assert.equal(report.health, "warning");
  assert.deepEqual(report.reasons, ["NVMe percentage_used 100 >= 100"]);
});

Deno.test("parseSmartctl() warns on when_failed past and fails on critical_warning (synthetic)", () => {
  const past = parseSmartctl(JSON.stringify({
    smartctl: { exit_status: 32 },
    smart_status: { passed: true },
    ata_smart_attributes: {
      table: [{
        id: 3,
        name: "Spin_Up_Time",
        value: 90,
        worst: 20,
        thresh: 21,
        when_failed: "past",
      }],
    },
  }));
  assert.equal(past.health, "warning");
  assert.equal(past.reasons.length, 2);
  const critical = parseSmartctl(JSON.stringify({
    smartctl: { exit_status: 8 },
    smart_status: { passed: false, nvme: { value: 16 } },
    nvme_smart_health_information_log: { critical_warning: 16 },
  }));
  assert.equal(critical.health, "failing");
  assert.ok(critical.reasons.includes("NVMe critical_warning 0x10"));
});

/** A real capture as another tool saves it: without the `smartctl` and version header. */
function trimmed(name: string): string {
  const { smartctl: _, json_format_version: __, ...rest } = JSON.parse(read(name));
  return JSON.stringify(rest);
}

const TRIMMED_NOTE = "the smartctl header is missing (a trimmed capture): exit status unknown";

Deno.test({
  name: "parseSmartctl() reads a capture trimmed of its header by its device sections, with a note",
  ignore: dir === undefined,
  fn() {
    // Every capture with device data whose exit status holds no health bit: the trimmed document
    // alone must reach the same verdict.
    const names = fixtureNames(dir, /\.json$/).filter((name) => {
      const doc = JSON.parse(read(name));
      return !(name in SCANS) && (doc.smartctl.exit_status & ~0b100) === 0 && "device" in doc;
    });
    assert.ok(names.length >= 20, `only ${names.length} captures`);
    for (const name of names) {
      const whole = parseSmartctl(read(name));
      const report = parseSmartctl(trimmed(name));
      assert.equal(report.parseError, undefined, name);
      assert.equal(report.health, whole.health, name);
      assert.equal(report.exitStatus, null, `${name}: no exit status is invented`);
      assert.equal(report.reasons.at(-1), TRIMMED_NOTE, name);
      assert.equal(report.model, whole.model, name);
    }
  },
});

Deno.test({
  name: "parseSmartctl() keeps a trimmed failing disk failing, and takes a given exit status",
  ignore: dir === undefined,
  fn() {
    const name = "usb-jmicron-hdd-hitachi-failing-exit216.json";
    const report = parseSmartctl(trimmed(name));
    assert.equal(report.health, "failing");
    assert.equal(report.exitStatus, null);
    assert.deepEqual(report.reasons, [
      "SMART overall-health self-assessment failed",
      "attribute 5 Reallocated_Sector_Ct is failing now (value 1 <= thresh 5)",
      "attribute 5 Reallocated_Sector_Ct raw 1975 > 0",
      "attribute 197 Current_Pending_Sector raw 8 > 0",
      TRIMMED_NOTE,
    ]);
    const told = parseSmartctl(trimmed(name), 216);
    assert.equal(told.exitStatus?.code, 216);
    assert.deepEqual(told.reasons, [
      ...parseSmartctl(read(name)).reasons,
      "the smartctl header is missing (a trimmed capture)",
    ]);
  },
});

Deno.test({
  name: "parseSmartctl() still finds no smartctl section in a document without device sections",
  ignore: dir === undefined,
  fn() {
    const texts = [trimmed("error-windows-open-failed-exit2.json"), '{"device":null}', "{}"];
    for (const text of texts) {
      const report = parseSmartctl(text);
      assert.equal(report.parseError, "output has no smartctl section", text);
      assert.equal(report.health, "unknown", text);
      assert.deepEqual(report.reasons, ["output has no smartctl section"], text);
    }
  },
});
