import assert from "node:assert/strict";
import fc from "fast-check";
import { fixtureDir, fixtureNames } from "../../tests/fixtures.ts";
import { parseSensors, type Reading } from "./parse_sensors.ts";

const dir = fixtureDir("sensors");
const read = (name: string) => Deno.readTextFileSync(`${dir}/${name}`);

/** Every real capture: the chips it yields and the repairs it needs, or that it is unreadable. */
const EXPECTED: Record<string, { chips?: string[]; repairs?: RegExp[]; error?: true }> = {
  "local-sensors-j-absent-chip.stdout.json": { chips: [], repairs: [] },
  "local-sensors-j-absent-chip.stderr.txt": { error: true },
  "local-sensors-j-bad-chip-name.stdout.txt": { error: true },
  "local-sensors-j-bad-chip-name.stderr.txt": { error: true },
  "local-sensors-j-no-sensors.stdout.json": { chips: [], repairs: [] },
  "local-sensors-j-no-sensors.stderr.txt": { error: true },
  "local-sensors-n-j-invalid-option-3.6.0.stdout.txt": { error: true },
  "local-sensors-n-j-invalid-option-3.6.0.stderr.txt": { error: true },
  "local-sensors-text-no-sensors.stdout.txt": { error: true },
  "local-sensors-text-no-sensors.stderr.txt": { error: true },
  "sensors-Au-text-asus-nvme-amdgpu-bat-ucsi-k10temp.txt": { error: true },
  "sensors-Au-text-epyc-k10temp-tccd-bnxt-nvme.txt": { error: true },
  "sensors-j-A-no-adapter-k10temp-amdgpu-iwlwifi-drivetemp.json": {
    chips: ["k10temp-pci-00c3", "amdgpu-pci-3000", "iwlwifi_1-virtual-0", "drivetemp-scsi-0-0"],
    repairs: [],
  },
  "sensors-j-FRAGMENT-sed-it8720-superio-vid-intrusion.txt": {
    chips: ["it8720-isa-0228"],
    repairs: [/wrapped a fragment/],
  },
  "sensors-j-FRAGMENT-sed-k10temp-zen2-vcore-icore-acpitz.txt": {
    chips: ["k10temp-pci-00c3", "acpitz-acpi-0"],
    repairs: [/wrapped a fragment/, /removed 1 trailing comma/],
  },
  "sensors-j-INVALID-FRAGMENT-stderr-interleaved-thinkpad-na.txt": {
    chips: ["thinkpad-isa-0000"],
    repairs: [/dropped 2 non-JSON line/, /wrapped a fragment/, /closed 1 unclosed brace/],
  },
  "sensors-j-INVALID-concatenated-objects-two-chip-args.txt": {
    chips: ["k10temp-pci-00c3", "drivetemp-scsi-0-0"],
    repairs: [/merged 2 concatenated documents/],
  },
  "sensors-j-INVALID-stderr-interleaved-amdgpu-it8603.txt": {
    chips: ["amdgpu-pci-0008", "it8603-isa-0290"],
    repairs: [/dropped 2 non-JSON line/],
  },
  "sensors-j-INVALID-stderr-interleaved-coretemp-iwlwifi-nvme.txt": {
    chips: ["coretemp-isa-0000", "acpitz-acpi-0", "iwlwifi_1-virtual-0", "nvme-pci-0400"],
    repairs: [/dropped 1 non-JSON line/],
  },
  "sensors-j-INVALID-trailing-comma-chip-without-features-k10temp.txt": {
    chips: ["k10temp-pci-00c3"],
    repairs: [/removed 1 trailing comma/],
  },
  "sensors-j-asrock-nct6798-coretemp-nvme.json": {
    chips: ["nct6798-isa-02a0", "nvme-pci-0200", "coretemp-isa-0000"],
    repairs: [],
  },
  "sensors-j-intel-coretemp-16core-acpitz-2nvme-a.json": {
    chips: ["nvme-pci-0500", "acpitz-acpi-0", "coretemp-isa-0000", "nvme-pci-0200"],
    repairs: [],
  },
  "sensors-j-k10temp-legacy-temp1-atk0110.json": {
    chips: ["k10temp-pci-00c3", "atk0110-acpi-0"],
    repairs: [],
  },
  "sensors-j-k10temp-tdie-amdgpu-fan.json": {
    chips: ["k10temp-pci-00c3", "amdgpu-pci-2600"],
    repairs: [],
  },
  "sensors-j-nvme-k10temp-tccd-pve.json": {
    chips: ["nvme-pci-0100", "k10temp-pci-00c3"],
    repairs: [],
  },
  "sensors-j-wildcard-pci-nvme-amdgpu-ppt-k10temp.json": {
    chips: ["nvme-pci-0b00", "amdgpu-pci-0c00", "k10temp-pci-00c3"],
    repairs: [],
  },
};

Deno.test({
  name: "parseSensors() reads every real capture: chips, repairs, or a typed error",
  ignore: dir === undefined,
  fn() {
    const names = fixtureNames(dir, /\.(json|txt)$/);
    assert.deepEqual(names.filter((n) => !(n in EXPECTED)), [], "captures without expectations");
    for (const name of names) {
      const want = EXPECTED[name]!;
      const report = parseSensors(read(name));
      if (want.error) {
        assert.equal(typeof report.error, "string", name);
        assert.deepEqual(report.chips, [], name);
        continue;
      }
      assert.equal(report.error, undefined, name);
      assert.deepEqual(report.chips.map((c) => c.chip), want.chips, name);
      assert.equal(report.repairs.length, want.repairs!.length, `${name}: ${report.repairs}`);
      want.repairs!.forEach((pattern, i) => assert.match(report.repairs[i]!, pattern, name));
    }
  },
});

function readingOf(name: string, chip: string, label: string): Reading {
  const found = parseSensors(read(name)).chips.find((c) => c.chip === chip)?.readings
    .find((r) => r.label === label);
  assert.ok(found, `${chip} ${label}`);
  return found;
}

Deno.test({
  name: "parseSensors() treats NVMe sentinels and zeroed Super-I/O limits as no limit (real)",
  ignore: dir === undefined,
  fn() {
    const name = "sensors-j-asrock-nct6798-coretemp-nvme.json";
    assert.deepEqual(readingOf(name, "nvme-pci-0200", "Sensor 1"), {
      label: "Sensor 1",
      kind: "temp",
      input: 34.85,
      min: null,
      max: null,
      crit: null,
      alarm: null,
    });
    const in1 = readingOf(name, "nct6798-isa-02a0", "in1");
    assert.deepEqual([in1.min, in1.max, in1.alarm], [null, null, false]);
    assert.equal(readingOf(name, "nct6798-isa-02a0", "intrusion0").kind, "intrusion");
    const composite = readingOf(name, "nvme-pci-0200", "Composite");
    assert.deepEqual([composite.max, composite.crit], [82.85, 84.85]);
  },
});

Deno.test({
  name: "parseSensors() types voltages, currents, power and fans (real)",
  ignore: dir === undefined,
  fn() {
    const zen = "sensors-j-FRAGMENT-sed-k10temp-zen2-vcore-icore-acpitz.txt";
    assert.equal(readingOf(zen, "k10temp-pci-00c3", "Vcore").kind, "in");
    assert.equal(readingOf(zen, "k10temp-pci-00c3", "Icore").kind, "curr");
    const ppt = readingOf(
      "sensors-j-wildcard-pci-nvme-amdgpu-ppt-k10temp.json",
      "amdgpu-pci-0c00",
      "PPT",
    );
    assert.equal(ppt.kind, "power");
    assert.equal(typeof ppt.input, "number");
    const fan = readingOf(
      "sensors-j-INVALID-stderr-interleaved-amdgpu-it8603.txt",
      "it8603-isa-0290",
      "Mobo Fan",
    );
    assert.deepEqual([fan.kind, fan.input, fan.min, fan.alarm], ["fan", 0, 600, true]);
    const unreadable = readingOf(
      "sensors-j-INVALID-stderr-interleaved-coretemp-iwlwifi-nvme.txt",
      "iwlwifi_1-virtual-0",
      "temp1",
    );
    assert.deepEqual([unreadable.kind, unreadable.input], ["temp", null]);
  },
});

Deno.test("parseSensors() reads exit 1 with {} as no sensors and names no repair", () => {
  const report = parseSensors("{\n\n}\n", 1);
  assert.deepEqual(report, { chips: [], repairs: [], noSensors: true });
});

// Property: any valid document, rendered the way lm-sensors 3.6.0 prints it, parses to the same
// readings once the known defects are injected into it.

interface Feature {
  label: string;
  kind: "temp" | "fan" | "in" | "power" | "curr";
  n: number;
  input: number | null; // null: NaN reading
  max: number | undefined;
  unreadable: boolean;
}
interface ChipModel {
  name: string;
  adapter: string;
  features: Feature[];
}

const value = fc.integer({ min: -50_000, max: 500_000 }).map((v) => v / 1000);
const feature: fc.Arbitrary<Feature> = fc.record({
  label: fc.stringMatching(/^[A-Za-z][A-Za-z0-9 +._-]{0,11}$/).filter((l) => l !== "Adapter"),
  kind: fc.constantFrom("temp", "fan", "in", "power", "curr"),
  n: fc.integer({ min: 0, max: 9 }),
  input: fc.option(value, { freq: 5 }),
  max: fc.option(value, { nil: undefined }),
  unreadable: fc.boolean(),
});
const chip: fc.Arbitrary<ChipModel> = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9_]{1,8}-(isa|pci|acpi|virtual)-[0-9a-f]{4}$/),
  adapter: fc.constantFrom("ISA adapter", "PCI adapter", "ACPI interface", "Virtual device"),
  features: fc.uniqueArray(feature, { selector: (f) => f.label, maxLength: 5 }),
});
const doc = fc.uniqueArray(chip, { selector: (c) => c.name, minLength: 1, maxLength: 4 });
const defects = fc.record({ nan: fc.boolean(), stderr: fc.boolean(), split: fc.boolean() });

function render(chips: ChipModel[], broken: { nan: boolean; stderr: boolean; split: boolean }) {
  const chipText = (c: ChipModel) => {
    const features = c.features.map((f) => {
      const sub = `${f.kind}${f.n}`;
      const lines: string[] = [];
      if (f.unreadable) {
        if (broken.stderr) {
          lines.push(`ERROR: Can't get value of subfeature ${sub}_input: Can't read\n`);
        }
      } else {
        const input = f.input === null ? (broken.nan ? "nan" : "null") : f.input.toFixed(3);
        lines.push(`         "${sub}_input": ${input}`);
      }
      if (f.max !== undefined) lines.push(`         "${sub}_max": ${f.max.toFixed(3)}`);
      const body = lines.filter((l) => !l.startsWith("ERROR")).join(",\n");
      const errors = lines.filter((l) => l.startsWith("ERROR"));
      return `      "${f.label}":{\n${[...errors, body].filter(Boolean).join("\n")}\n      }`;
    });
    // lm-sensors prints the Adapter line with a trailing comma even when no feature follows.
    return `   "${c.name}":{\n      "Adapter": "${c.adapter}",\n${features.join(",\n")}\n   }`;
  };
  if (broken.split) return chips.map((c) => `{\n${chipText(c)}\n}\n`).join("");
  return `{\n${chips.map(chipText).join(",\n")}\n}\n`;
}

function validJson(chips: ChipModel[]): string {
  return JSON.stringify(Object.fromEntries(chips.map((c) => [c.name, {
    Adapter: c.adapter,
    ...Object.fromEntries(c.features.map((f) => {
      const sub = `${f.kind}${f.n}`;
      const subs: Record<string, number | null> = {};
      if (!f.unreadable) subs[`${sub}_input`] = f.input;
      if (f.max !== undefined) subs[`${sub}_max`] = f.max;
      return [f.label, subs];
    })),
  }])));
}

Deno.test("property: injected lm-sensors defects never change the readings", () => {
  fc.assert(
    fc.property(doc, defects, (chips, broken) => {
      const clean = parseSensors(validJson(chips));
      const dirty = parseSensors(render(chips, broken));
      assert.equal(clean.repairs.length, 0);
      assert.equal(dirty.error, undefined, render(chips, broken));
      assert.deepEqual(dirty.chips, clean.chips);
      for (const [i, c] of chips.entries()) {
        for (const [j, f] of c.features.entries()) {
          const r = clean.chips[i]!.readings[j]!;
          // An empty feature object carries no subfeature name; only a label like "temp3" tells.
          const empty = f.unreadable && f.max === undefined;
          const fromLabel = /^(temp|fan|in|power|curr)[0-9]+$/.exec(f.label)?.[1] ?? "other";
          assert.equal(r.kind, empty ? fromLabel : f.kind);
          assert.equal(r.input, f.unreadable ? null : f.input);
        }
      }
    }),
    { numRuns: 300 },
  );
});
