import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { parseSensors } from "../../ops/sensors/parse_sensors.ts";
import type { SmartDisk } from "../../ops/smart/disks.ts";
import { parseSmartctl } from "../../ops/smart/parse_smartctl.ts";
import { fixtureDir, fixtureNames } from "../../tests/fixtures.ts";
import { hostMetrics, type HostReads } from "./host_metrics.ts";
import { familiesOf, type Family, valuesOf } from "../../tests/_prometheus.ts";

const smartDir = fixtureDir("smartctl");
const sensorsDir = fixtureDir("sensors");

/** Renders the reads and reads the text back with a real Prometheus text-format parser. */
async function scrape(reads: HostReads, now = 0): Promise<Family[]> {
  const registry = new Registry();
  hostMetrics(registry, reads, now);
  return familiesOf(await registry.metrics());
}

/** The value of the one series of `name` with `labels`. */
function value(families: Family[], name: string, labels: Record<string, string>) {
  const matching = valuesOf(families, name, labels);
  assert.ok(matching.length <= 1, `${name} ${JSON.stringify(labels)} is not one series`);
  return matching[0];
}

const none = { failures: {} };

/** One read disk per capture, named after it. */
function readDisks(names: readonly string[]): SmartDisk[] {
  return names.map((name, i) => ({
    device: `/dev/sd${String.fromCharCode(97 + i)}`,
    deviceType: "sat",
    protocol: null,
    status: "read",
    report: parseSmartctl(Deno.readTextFileSync(`${smartDir}/${name}`)),
  }));
}

function smartRead(disks: SmartDisk[]): HostReads["smart"] {
  const counts = { found: disks.length, read: disks.length, failed: 0, skipped: 0 };
  return { attempt: { ok: true }, good: { at: 0, value: { disks, counts } }, failures: {} };
}

/** Every label set of every family once: what Prometheus refuses as a duplicate sample. */
function assertNoDuplicates(families: Family[]): void {
  for (const family of families) {
    const seen = new Set(family.metrics.map((m) => JSON.stringify(m.labels ?? {})));
    assert.equal(seen.size, family.metrics.length, family.name);
  }
}

Deno.test({
  name: "hostMetrics() renders every real smartctl capture as parseable series, one per disk",
  ignore: smartDir === undefined,
  async fn() {
    const names = fixtureNames(smartDir, /^(ata|nvme|scsi|usb|megaraid).*\.json$/);
    assert.ok(names.length >= 20, String(names.length));
    const disks = readDisks(names);
    const families = await scrape({ smart: smartRead(disks), sensors: none });
    assertNoDuplicates(families);
    for (const disk of disks) {
      const labels = { device: disk.device.slice("/dev/".length), type: "sat" };
      const report = (disk as Extract<SmartDisk, { status: "read" }>).report;
      const health = value(families, "rootfence_smart_health", labels);
      assert.equal(health, { ok: 0, warning: 1, failing: 2, unknown: 3 }[report.health]);
      for (const reason of report.reasons) {
        assert.equal(value(families, "rootfence_smart_reason", { ...labels, reason }), 1, reason);
      }
    }
  },
});

Deno.test({
  name: "hostMetrics() takes each disk value from the capture, under smartctl_exporter's names",
  ignore: smartDir === undefined,
  async fn() {
    const files = [
      "ata-sat-hdd-wd-wd181kryz-7.3.json",
      "nvme-samsung-970evo-media-errors-7.json",
      "scsi-seagate-st373453lc-grown-defects-260.json",
      "usb-jmicron-hdd-hitachi-failing-exit216.json",
    ];
    const raw = files.map((name) => JSON.parse(Deno.readTextFileSync(`${smartDir}/${name}`)));
    const families = await scrape({ smart: smartRead(readDisks(files)), sensors: none });
    const disk = (device: string) => ({ device, type: "sat" });
    const [ata, nvme, scsi, usb] = [disk("sda"), disk("sdb"), disk("sdc"), disk("sdd")];
    // ATA: temperature, power-on time and the two sector counts, straight from the document.
    assert.equal(
      value(families, "smartctl_device_temperature", { ...ata, temperature_type: "current" }),
      raw[0].temperature.current,
    );
    assert.equal(
      value(families, "smartctl_device_power_on_seconds", ata),
      raw[0].power_on_time.hours * 3600,
    );
    type Attributes = { ata_smart_attributes: { table: { id: number; raw: { value: number } }[] } };
    const attribute = (doc: Attributes, id: number) =>
      doc.ata_smart_attributes.table.find((a) => a.id === id)?.raw.value;
    assert.equal(value(families, "rootfence_smart_reallocated_sectors", ata), attribute(raw[0], 5));
    assert.equal(value(families, "rootfence_smart_pending_sectors", ata), attribute(raw[0], 197));
    assert.equal(value(families, "smartctl_device_smart_status", ata), 1);
    assert.equal(value(families, "rootfence_smart_health", ata), 0);
    // NVMe: media errors and wear, and the warning they give.
    const log = raw[1].nvme_smart_health_information_log;
    assert.equal(value(families, "smartctl_device_media_errors", nvme), log.media_errors);
    assert.equal(value(families, "smartctl_device_percentage_used", nvme), log.percentage_used);
    assert.equal(value(families, "rootfence_smart_health", nvme), 1);
    assert.equal(
      value(families, "rootfence_smart_reason", {
        ...nvme,
        reason: `NVMe media_errors ${log.media_errors} > 0`,
      }),
      1,
    );
    // SCSI: the grown defect list is its reallocated count.
    assert.equal(
      value(families, "rootfence_smart_reallocated_sectors", scsi),
      raw[2].scsi_grown_defect_list,
    );
    // A failing disk is 2, with a smart status of 0.
    assert.equal(value(families, "rootfence_smart_health", usb), 2);
    assert.equal(value(families, "smartctl_device_smart_status", usb), 0);
    const types = Object.fromEntries(families.map((f) => [f.name, f.type]));
    assert.equal(types.smartctl_device_power_on_seconds, "COUNTER");
    assert.equal(types.smartctl_device_temperature, "GAUGE");
  },
});

Deno.test("hostMetrics() gives a disk it could not read, or skipped, the health unknown and why", async () => {
  const base = { deviceType: "nvme", protocol: "NVMe" };
  const disks: SmartDisk[] = [
    {
      ...base,
      device: "/dev/nvme1",
      status: "failed",
      error: { code: "device_open_failed", message: "Cannot open" },
    },
    { ...base, device: "/dev/bus/0", status: "skipped", reason: "over the 128 disks" },
  ];
  const families = await scrape({ smart: smartRead(disks), sensors: none });
  assert.equal(value(families, "rootfence_smart_health", { device: "nvme1" }), 3);
  assert.equal(
    value(families, "rootfence_smart_reason", {
      device: "nvme1",
      reason: "not read: device_open_failed",
    }),
    1,
  );
  assert.equal(value(families, "rootfence_smart_health", { device: "bus/0" }), 3);
  assert.equal(value(families, "smartctl_device_temperature", { device: "nvme1" }), undefined);
});

Deno.test({
  name: "hostMetrics() renders every real sensors capture under node_exporter's hwmon names",
  ignore: sensorsDir === undefined,
  async fn() {
    const names = fixtureNames(sensorsDir, /\.json$/);
    assert.ok(names.length >= 5, String(names.length));
    for (const name of names) {
      const text = Deno.readTextFileSync(`${sensorsDir}/${name}`);
      const report = parseSensors(text);
      const families = await scrape({
        smart: none,
        sensors: { attempt: { ok: true }, good: { at: 0, value: report }, failures: {} },
      });
      assertNoDuplicates(families);
      const temps = report.chips.flatMap((chip) =>
        chip.readings.filter((r) => r.kind === "temp" && r.input !== null)
          .map((r) => [{ chip: chip.chip, sensor: r.label }, r.input] as const)
      );
      for (const [labels, input] of temps) {
        assert.equal(value(families, "node_hwmon_temp_celsius", labels), input, name);
      }
    }
  },
});

Deno.test({
  name: "hostMetrics() takes each sensor value and limit from the capture",
  ignore: sensorsDir === undefined,
  async fn() {
    const file = `${sensorsDir}/sensors-j-asrock-nct6798-coretemp-nvme.json`;
    const raw = JSON.parse(Deno.readTextFileSync(file));
    const report = parseSensors(Deno.readTextFileSync(file));
    const families = await scrape({
      smart: none,
      sensors: { attempt: { ok: true }, good: { at: 0, value: report }, failures: {} },
    });
    const core = { chip: "coretemp-isa-0000", sensor: "Core 0" };
    const coreRaw = raw["coretemp-isa-0000"]["Core 0"];
    assert.equal(value(families, "node_hwmon_temp_celsius", core), coreRaw.temp2_input);
    assert.equal(value(families, "node_hwmon_temp_max_celsius", core), coreRaw.temp2_max);
    assert.equal(value(families, "node_hwmon_temp_crit_celsius", core), coreRaw.temp2_crit);
    const fan = { chip: "nct6798-isa-02a0", sensor: "fan1" };
    assert.equal(
      value(families, "node_hwmon_fan_rpm", fan),
      raw["nct6798-isa-02a0"].fan1.fan1_input,
    );
    const in0 = { chip: "nct6798-isa-02a0", sensor: "in0" };
    assert.equal(
      value(families, "node_hwmon_in_volts", in0),
      raw["nct6798-isa-02a0"].in0.in0_input,
    );
    assert.equal(
      value(families, "node_hwmon_in_max_volts", in0),
      raw["nct6798-isa-02a0"].in0.in0_max,
    );
    assert.equal(
      value(families, "rootfence_sensor_alarm", { chip: "nct6798-isa-02a0", sensor: "AUXTIN0" }),
      1,
    );
  },
});

Deno.test("hostMetrics() says how each read went and how old its last good value is", async () => {
  const sensors = { chips: [], repairs: [], noSensors: true };
  const families = await scrape({
    smart: { attempt: { ok: false, code: "timeout" }, failures: { timeout: 2 } },
    sensors: { attempt: { ok: true }, good: { at: 1_000, value: sensors }, failures: {} },
  }, 61_000);
  assert.equal(value(families, "rootfence_host_read_success", { op: "smart" }), 0);
  assert.equal(value(families, "rootfence_host_read_success", { op: "sensors" }), 1);
  assert.equal(value(families, "rootfence_host_read_age_seconds", { op: "sensors" }), 60);
  assert.equal(value(families, "rootfence_host_read_age_seconds", { op: "smart" }), undefined);
  assert.equal(
    value(families, "rootfence_host_read_failures_total", { op: "smart", code: "timeout" }),
    2,
  );
});
