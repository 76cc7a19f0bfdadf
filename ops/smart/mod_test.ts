import assert from "node:assert/strict";
import { fixtureDir, fixtureNames } from "../../tests/fixtures.ts";
import { isSmartDisks } from "./disks.ts";
import { smart as op } from "./mod.ts";

const settings = { mountBase: "/mnt/usb" };

Deno.test("argv() is smartctl -a -j with the device last", () => {
  const input = op.schema(settings).parse({ device: "/dev/sda" });
  assert.deepEqual(op.argv(input, settings), {
    binary: "smartctl",
    args: ["-a", "-j", "/dev/sda"],
  });
});

Deno.test("argv() puts -d before the device", () => {
  const input = op.schema(settings).parse({ device: "/dev/bus/0", deviceType: "sat+megaraid,12" });
  assert.deepEqual(op.argv(input, settings).args, [
    "-a",
    "-j",
    "-d",
    "sat+megaraid,12",
    "/dev/bus/0",
  ]);
});

Deno.test("argv() without a device is the scan, the main command of an all-disk read", () => {
  const input = op.schema(settings).parse({});
  assert.deepEqual(op.argv(input, settings), {
    binary: "smartctl",
    args: ["--scan-open", "-j"],
  });
});

Deno.test("schema refuses a deviceType without a device: the scan gives each disk's type", () => {
  const result = op.schema(settings).safeParse({ deviceType: "sat" });
  assert.equal(result.success, false);
  assert.deepEqual(result.error!.issues[0]!.path, ["deviceType"]);
  assert.match(result.error!.issues[0]!.message, /^needs a device/);
});

Deno.test("resourceKeys() are the device, or one key every all-disk read shares", () => {
  const schema = op.schema(settings);
  assert.deepEqual(op.resourceKeys(schema.parse({ device: "/dev/sda" })), ["smart:/dev/sda"]);
  assert.deepEqual(op.resourceKeys(schema.parse({})), ["smart:all-disks"]);
});

Deno.test("resourceKeys() of an NVMe namespace are its controller's; other names stay apart", () => {
  const schema = op.schema(settings);
  const keys = (device: string) => op.resourceKeys(schema.parse({ device }));
  assert.deepEqual(keys("/dev/nvme0n1"), ["smart:/dev/nvme0"]);
  assert.deepEqual(keys("/dev/nvme0n2"), keys("/dev/nvme0"));
  assert.notDeepEqual(keys("/dev/nvme1n1"), keys("/dev/nvme0"));
  assert.notDeepEqual(keys("/dev/nvme10"), keys("/dev/nvme1"));
  assert.deepEqual(keys("/dev/disk/by-id/nvme-eui.0025n1"), [
    "smart:/dev/disk/by-id/nvme-eui.0025n1",
  ]);
});

Deno.test("parse() alone cannot read every disk: without a device only execute() can", () => {
  const outcome = op.parse({
    exitCode: 0,
    signal: null,
    stdout: '{"smartctl":{"exit_status":0}}',
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
  }, op.schema(settings).parse({}));
  assert.equal(outcome.ok ? "ok" : outcome.code, "child_failed");
});

const validDevices = [
  "/dev/sda",
  "/dev/sdaa",
  "/dev/nvme0",
  "/dev/nvme0n1",
  "/dev/sg3",
  "/dev/hdb",
  "/dev/bus/0",
  "/dev/disk/by-id/ata-WDC_WD140EDFZ-11A0VA0_9RK1XXXX",
  "/dev/disk/by-id/nvme-eui.0025385b71b07e2f",
  "/dev/disk/by-path/pci-0000:00:1f.2-ata-1",
];
for (const device of validDevices) {
  Deno.test(`schema accepts device ${device}`, () => {
    assert.equal(op.schema(settings).safeParse({ device }).success, true);
  });
}

const invalidDevices = [
  "-t long",
  "--scan",
  "-d",
  "/dev/sda -t long",
  "/dev/sda1",
  "/dev/sda\n",
  "/dev/../etc/passwd",
  "/dev/disk/by-id/../../sda",
  "/dev/disk/by-id/-x",
  "/etc/passwd",
  "sda",
  "/dev/null",
  "/dev/loop0",
  "/dev/sda;reboot",
  "/dev/sd\u0430", // Cyrillic a
  "/dev/" + "sd" + "a".repeat(300),
  "",
];
for (const device of invalidDevices) {
  Deno.test(`schema refuses device ${JSON.stringify(device)}`, () => {
    const result = op.schema(settings).safeParse({ device });
    assert.equal(result.success, false);
    assert.deepEqual(result.error!.issues[0]!.path, ["device"]);
  });
}

const validTypes = [
  "auto",
  "sat",
  "nvme",
  "scsi",
  "ata",
  "usbjmicron",
  "megaraid,0",
  "sat+megaraid,127",
];
for (const deviceType of validTypes) {
  Deno.test(`schema accepts -d ${deviceType}`, () => {
    assert.equal(op.schema(settings).safeParse({ device: "/dev/sda", deviceType }).success, true);
  });
}

const invalidTypes = [
  "bogus",
  "test",
  "sat -T permissive",
  "megaraid,-1",
  "megaraid,01",
  "sat\n",
  "-a",
];
for (const deviceType of invalidTypes) {
  Deno.test(`schema refuses -d ${JSON.stringify(deviceType)}`, () => {
    const result = op.schema(settings).safeParse({ device: "/dev/sda", deviceType });
    assert.deepEqual(result.error?.issues[0]?.path, ["deviceType"]);
  });
}

Deno.test("schema refuses extra keys", () => {
  assert.equal(op.schema(settings).safeParse({ device: "/dev/sda", args: ["-x"] }).success, false);
});

// Real captures: the failure each operational error shows; every other file parses as data.
const failures: Record<string, string> = {
  "local-smartctl-a-j-dev-null.json": "unknown_device_type",
  "local-smartctl-a-j-dev-does-not-exist.json": "unknown_device_type",
  "local-smartctl-a-j-loop0-autodetect.json": "unknown_device_type",
  "local-smartctl-a-j-virtio-vda.json": "unknown_device_type",
  "local-smartctl-a-j-d-bogus-type.json": "unknown_device_type",
  "local-smartctl-a-j-no-device-arg.json": "command_failed",
  "local-smartctl-a-j-d-sat-loop0.json": "device_open_failed",
  "local-smartctl-a-json-o-d-sat-loop0.json": "device_open_failed",
  "local-smartctl-a-j-d-scsi-loop0.json": "device_open_failed",
  "local-smartctl-a-j-d-sat-loop0-permission-denied.json": "denied",
  "error-windows-open-failed-exit2.json": "device_open_failed",
};

const dir = fixtureDir("smartctl");
const spec = op.schema(settings).parse({ device: "/dev/sda" });

Deno.test({
  name: "parse() reads every real smartctl capture with its own exit status",
  ignore: dir === undefined,
  fn() {
    const names = fixtureNames(dir, /^(?!scan-|local-smartctl-scan).*\.json$/);
    assert.ok(names.length >= 40, `only ${names.length} captures`);
    for (const name of names) {
      const stdout = Deno.readTextFileSync(`${dir}/${name}`);
      const exitCode = JSON.parse(stdout).smartctl.exit_status;
      const outcome = op.parse({
        exitCode,
        signal: null,
        stdout,
        stderr: "",
        stdoutTruncated: false,
        stderrTruncated: false,
      }, spec);
      const want = failures[name] ?? "ok";
      assert.equal(outcome.ok ? "ok" : outcome.code, want, name);
      if (outcome.ok) {
        const report = outcome.value;
        assert.ok(!isSmartDisks(report), name);
        assert.equal(report.exitStatus?.code, exitCode, name);
        assert.ok(["ok", "warning", "failing", "unknown"].includes(report.health), name);
      }
    }
  },
});

Deno.test("parse() skips a stray line before the JSON (pre-7.3 SCSI bug, synthetic)", () => {
  const outcome = op.parse({
    exitCode: 0,
    signal: null,
    stdout: '  Pending defect count:{\n  "smartctl": {"exit_status": 0}\n}\n',
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
  }, spec);
  assert.equal(outcome.ok, true);
});

Deno.test("parse() reports truncated output as output_too_large", () => {
  const outcome = op.parse({
    exitCode: 0,
    signal: null,
    stdout: '{"smartctl": {"exit_',
    stderr: "",
    stdoutTruncated: true,
    stderrTruncated: false,
  }, spec);
  assert.equal(outcome.ok ? "ok" : outcome.code, "output_too_large");
});
