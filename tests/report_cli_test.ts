/** `deno task report` on saved captures, as an operator runs it. */
import assert from "node:assert/strict";
import { fixtureDir } from "./fixtures.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);

async function report(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "report", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: output.code, out: text.decode(output.stdout), err: text.decode(output.stderr) };
}

const smartDir = fixtureDir("smartctl");
const sensorsDir = fixtureDir("sensors");

Deno.test({
  name: "report smart renders a saved capture, honouring --exit-code",
  ignore: smartDir === undefined,
  async fn() {
    const file = `${smartDir}/usb-jmicron-hdd-hitachi-failing-exit216.json`;
    const table = await report(["smart", file]);
    assert.equal(table.code, 1, "a failing disk fails the default --fail-on failing");
    assert.match(table.out, /^Health +FAILING$/m);
    assert.match(table.out, /- attribute 5 Reallocated_Sector_Ct raw 1975 > 0/);
    const json = await report(["smart", file, "--exit-code", "2", "--format", "json"]);
    const doc = JSON.parse(json.out);
    assert.equal(doc.health, "unknown", "bit 1 from --exit-code overrides the recorded status");
    assert.deepEqual(doc.exitStatus, { code: 2, bits: ["deviceOpen"] });
  },
});

Deno.test({
  name: "report sensors renders a broken capture after naming its repairs",
  ignore: sensorsDir === undefined,
  async fn() {
    const run = await report([
      "sensors",
      `${sensorsDir}/sensors-j-INVALID-concatenated-objects-two-chip-args.txt`,
    ]);
    assert.equal(run.code, 0);
    assert.match(run.out, /^drivetemp-scsi-0-0 +temp1 +temp +22 °C/m);
    assert.match(run.out, /repaired: merged 2 concatenated documents/);
  },
});

Deno.test("report exits 1 on an unreadable capture and 2 on bad usage", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "smartctl: command not found\n");
    assert.equal((await report(["smart", file])).code, 1);
    assert.equal((await report(["disk", file])).code, 2);
    assert.equal((await report(["smart", file, "--exit-code", "x"])).code, 2);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test({
  name: "report smart --fail-on sets the exit status by the verdict; failing is the default",
  ignore: smartDir === undefined,
  async fn() {
    // The exit status at each level: none, failing (the default), warning, never.
    const expected: Record<string, [number, number, number, number]> = {
      "usb-jmicron-hdd-hitachi-failing-exit216.json": [1, 1, 1, 0],
      "nvme-samsung-970evo-media-errors-7.json": [0, 0, 1, 0],
      "ata-sat-hdd-wdc-wd140edfz-pass.json": [0, 0, 0, 0],
    };
    for (const [name, codes] of Object.entries(expected)) {
      const file = `${smartDir}/${name}`;
      const levels = [undefined, "failing", "warning", "never"];
      const runs = await Promise.all(
        levels.map((l) => report(["smart", file, ...(l === undefined ? [] : ["--fail-on", l])])),
      );
      assert.deepEqual(runs.map((r) => r.code), codes, name);
    }
    const failing = await report([
      "smart",
      `${smartDir}/usb-jmicron-hdd-hitachi-failing-exit216.json`,
      "--format",
      "json",
    ]);
    assert.equal(JSON.parse(failing.out).health, "failing", "the report is printed all the same");
    assert.match(failing.err, /^Check failed: health is "failing" \(--fail-on failing\)$/m);
  },
});

Deno.test({
  name: "report --fail-on refuses an unknown level and sensors, which has no check, with exit 2",
  ignore: smartDir === undefined || sensorsDir === undefined,
  async fn() {
    const disk = `${smartDir}/ata-sat-hdd-wdc-wd140edfz-pass.json`;
    const bad = await report(["smart", disk, "--fail-on", "sometimes"]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^Cannot use --fail-on "sometimes": use failing, warning or never$/m);
    const chips = `${sensorsDir}/sensors-j-INVALID-concatenated-objects-two-chip-args.txt`;
    const sensors = await report(["sensors", chips, "--fail-on", "failing"]);
    assert.equal(sensors.code, 2);
    assert.match(sensors.err, /^Cannot use --fail-on for "sensors": it has no check$/m);
  },
});

Deno.test({
  name: "report smart reads a capture trimmed of its smartctl header and notes it",
  ignore: smartDir === undefined,
  async fn() {
    const whole = await Deno.readTextFile(
      `${smartDir}/usb-jmicron-hdd-hitachi-failing-exit216.json`,
    );
    const { smartctl: _, json_format_version: __, ...trimmed } = JSON.parse(whole);
    const file = await Deno.makeTempFile({ suffix: ".json" });
    try {
      await Deno.writeTextFile(file, JSON.stringify(trimmed));
      const run = await report(["smart", file]);
      assert.equal(run.code, 1, "a failing disk fails the default check, header or not");
      assert.match(run.out, /^Health +FAILING$/m);
      assert.match(
        run.out,
        /- the smartctl header is missing \(a trimmed capture\): exit status unknown/,
      );
      assert.match(run.out, /^Exit +unknown$/m);
      assert.equal((await report(["smart", file, "--fail-on", "never"])).code, 0);
    } finally {
      await Deno.remove(file);
    }
  },
});
