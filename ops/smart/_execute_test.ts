import assert from "node:assert/strict";
import { fixtureDir } from "../../tests/fixtures.ts";
import type { CommandOutput, HostCommand, HostRunOptions, OpHost } from "../types.ts";
import { MAX_DISKS, planDisks, readAllDisks } from "./_execute.ts";
import type { SmartDisks } from "./disks.ts";
import { smart as op } from "./mod.ts";
import { parseSmartctlScan } from "./scan.ts";

const settings = { mountBase: "/mnt/usb" };
const dir = fixtureDir("smartctl");

function capture(name: string): string {
  return Deno.readTextFileSync(`${dir}/${name}`);
}

function output(stdout: string, exitCode = 0, extra: Partial<CommandOutput> = {}): CommandOutput {
  return {
    exitCode,
    signal: null,
    stdout,
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
    ...extra,
  };
}

/** A real capture as smartctl printed it, with the exit status it recorded. */
function recorded(name: string): CommandOutput {
  const stdout = capture(name);
  return output(stdout, JSON.parse(stdout).smartctl.exit_status);
}

/** A host whose smartctl answers the scan and each device from a table; it records every run. */
class FakeSmartctl implements OpHost {
  readonly runs: { args: readonly string[]; timeoutMs: number | undefined }[] = [];
  readonly #scan: CommandOutput;
  readonly #disks: Readonly<Record<string, CommandOutput>>;

  constructor(scan: CommandOutput, disks: Readonly<Record<string, CommandOutput>>) {
    this.#scan = scan;
    this.#disks = disks;
  }

  run(command: HostCommand, options: HostRunOptions = {}): Promise<CommandOutput> {
    assert.equal(command.binary, "smartctl");
    this.runs.push({ args: command.args, timeoutMs: options.timeoutMs });
    if (command.args[0] === "--scan-open") return Promise.resolve(this.#scan);
    const answer = this.#disks[command.args.at(-1)!];
    return Promise.resolve(answer ?? output("", 2, { stderr: "no such fake disk" }));
  }
  lstat(): never {
    throw new Error("smart touches no path");
  }
  realPath(): never {
    throw new Error("smart touches no path");
  }
  mkdir(): never {
    throw new Error("smart touches no path");
  }
  rmdir(): never {
    throw new Error("smart touches no path");
  }
}

async function executeAll(host: FakeSmartctl): Promise<SmartDisks> {
  const outcome = await op.execute!(op.schema(settings).parse({}), settings, host);
  assert.ok(outcome.ok, JSON.stringify(outcome));
  return outcome.value as SmartDisks;
}

/** The real `--scan` capture of one SAT disk and two NVMe drives (smartctl 7.4). */
const SAT_AND_NVME = "scan-sat-and-nvme-7.4.json";

Deno.test({
  name: "execute() without a device reads each scanned disk with its scanned type, in scan order",
  ignore: dir === undefined,
  async fn() {
    const host = new FakeSmartctl(recorded(SAT_AND_NVME), {
      "/dev/sda": recorded("ata-sat-hdd-wd-wd181kryz-7.3.json"),
      "/dev/nvme0": recorded("nvme-samsung-970evo-media-errors-7.json"),
      "/dev/nvme1": recorded("nvme-corsair-force-mp510.json"),
    });
    const result = await executeAll(host);
    assert.deepEqual(host.runs.map((r) => r.args), [
      ["--scan-open", "-j"],
      ["-a", "-j", "-d", "sat", "/dev/sda"],
      ["-a", "-j", "-d", "nvme", "/dev/nvme0"],
      ["-a", "-j", "-d", "nvme", "/dev/nvme1"],
    ]);
    assert.ok(host.runs.every((r) => r.timeoutMs === 60_000), "every command has its own timeout");
    assert.deepEqual(result.counts, { found: 3, read: 3, failed: 0, skipped: 0 });
    assert.deepEqual(
      result.disks.map((d) => [d.device, d.deviceType, d.protocol, d.status]),
      [
        ["/dev/sda", "sat", "ATA", "read"],
        ["/dev/nvme0", "nvme", "NVMe", "read"],
        ["/dev/nvme1", "nvme", "NVMe", "read"],
      ],
    );
    const health = result.disks.map((d) => d.status === "read" ? d.report.health : d.status);
    assert.deepEqual(health, ["ok", "warning", "ok"]);
  },
});

Deno.test({
  name: "execute() without a device reports a disk smartctl cannot open and reads the others",
  ignore: dir === undefined,
  async fn() {
    const host = new FakeSmartctl(recorded(SAT_AND_NVME), {
      "/dev/sda": recorded("error-windows-open-failed-exit2.json"),
      "/dev/nvme0": recorded("nvme-samsung-970evo-media-errors-7.json"),
      "/dev/nvme1": recorded("local-smartctl-a-j-dev-does-not-exist.json"),
    });
    const result = await executeAll(host);
    assert.equal(host.runs.length, 4);
    assert.deepEqual(result.counts, { found: 3, read: 1, failed: 2, skipped: 0 });
    const [sda, nvme0, nvme1] = result.disks;
    assert.equal(sda?.status, "failed");
    assert.equal(sda.error.code, "device_open_failed");
    assert.match(sda.error.message, /^Cannot open "\/dev\/sda": Smartctl open device/);
    assert.equal(nvme0?.status, "read");
    assert.equal(nvme1?.status === "failed" && nvme1.error.code, "unknown_device_type");
  },
});

Deno.test({
  name: "execute() passes MegaRAID ports of one bus as their scanned -d types",
  ignore: dir === undefined,
  async fn() {
    const host = new FakeSmartctl(recorded("scan-megaraid.json"), {
      "/dev/bus/0": recorded("megaraid-sat-wd4000fyyx-disk0-exit4.json"),
    });
    const result = await executeAll(host);
    assert.deepEqual(host.runs.slice(1).map((r) => r.args), [
      ["-a", "-j", "-d", "megaraid,0", "/dev/bus/0"],
      ["-a", "-j", "-d", "megaraid,1", "/dev/bus/0"],
    ]);
    // Exit 4 (bit 2: some SMART command failed) is data, not a failed read.
    assert.deepEqual(result.counts, { found: 2, read: 2, failed: 0, skipped: 0 });
  },
});

Deno.test({
  name: "execute() without a device on a host with no disks is an empty list, not an error",
  ignore: dir === undefined,
  async fn() {
    const host = new FakeSmartctl(recorded("local-smartctl-scan-open-j-no-devices.json"), {});
    const result = await executeAll(host);
    assert.deepEqual(result, { disks: [], counts: { found: 0, read: 0, failed: 0, skipped: 0 } });
    assert.equal(host.runs.length, 1);
  },
});

/** The real scan with scanned entries no user input could name (synthetic, added in the test). */
function hostileScan(): CommandOutput {
  const doc = JSON.parse(capture(SAT_AND_NVME));
  doc.devices.push(
    { name: "/dev/sdb;reboot", info_name: "/dev/sdb;reboot", type: "sat", protocol: "ATA" },
    { name: "/dev/twa0", info_name: "/dev/twa0 [3ware_disk_00]", type: "3ware,0", protocol: "ATA" },
    { name: "/dev/sdc", info_name: "/dev/sdc", type: "sat -T permissive", protocol: "ATA" },
    { name: "-d", info_name: "-d", type: "sat", protocol: "ATA" },
    {
      name: "/dev/sdd",
      info_name: "/dev/sdd",
      type: "scsi",
      protocol: "SCSI",
      open_error: "DELL or MegaRaid controller, please try adding '-d megaraid,N'",
    },
  );
  return output(JSON.stringify(doc));
}

Deno.test({
  name: "execute() skips a scanned name or type outside the anchored patterns and never runs it",
  ignore: dir === undefined,
  async fn() {
    const host = new FakeSmartctl(hostileScan(), {
      "/dev/sda": recorded("ata-sat-hdd-wd-wd181kryz-7.3.json"),
      "/dev/nvme0": recorded("nvme-corsair-force-mp510.json"),
      "/dev/nvme1": recorded("nvme-corsair-force-mp510.json"),
    });
    const result = await executeAll(host);
    assert.deepEqual(host.runs.map((r) => r.args.at(-1)), [
      "-j",
      "/dev/sda",
      "/dev/nvme0",
      "/dev/nvme1",
    ]);
    assert.deepEqual(result.counts, { found: 8, read: 3, failed: 1, skipped: 4 });
    const skipped = result.disks.flatMap((d) =>
      d.status === "skipped" ? [[d.device, d.reason]] : []
    );
    assert.deepEqual(skipped.map(([device]) => device), [
      "/dev/sdb;reboot",
      "/dev/twa0",
      "/dev/sdc",
      "-d",
    ]);
    assert.match(skipped[0]![1]!, /^device: must be a whole-disk device such as \/dev\/sda/);
    assert.match(skipped[2]![1]!, /^deviceType: must be a smartctl -d type/);
    const opened = result.disks.at(-1)!;
    assert.equal(opened.status, "failed");
    assert.equal(opened.error.code, "device_open_failed");
    assert.match(opened.error.message, /please try adding '-d megaraid,N'/);
  },
});

Deno.test("planDisks() reads a scanned device without a type by autodetection (no -d)", () => {
  const scan = parseSmartctlScan('{"devices":[{"name":"/dev/sda"}]}');
  const [plan] = planDisks(scan.devices);
  assert.equal(plan?.kind, "read");
  assert.deepEqual(plan.command.args, ["-a", "-j", "/dev/sda"]);
});

Deno.test("planDisks() skips every disk past the cap of one run", () => {
  const names = Array.from({ length: MAX_DISKS + 2 }, (_, i) => `/dev/sg${i}`);
  const scan = parseSmartctlScan(JSON.stringify({ devices: names.map((name) => ({ name })) }));
  const plans = planDisks(scan.devices);
  assert.equal(plans.filter((p) => p.kind === "read").length, MAX_DISKS);
  const last = plans.at(-1)!;
  assert.ok(last.kind === "settled" && last.disk.status === "skipped");
  assert.match(last.disk.reason, /^over the 128 disks one run reads/);
});

Deno.test({
  name: "readAllDisks() starts no read once the budget is spent: those disks fail as timeout",
  ignore: dir === undefined,
  async fn() {
    const host = new FakeSmartctl(recorded(SAT_AND_NVME), {
      "/dev/sda": recorded("ata-sat-hdd-wd-wd181kryz-7.3.json"),
    });
    let clock = 0;
    const outcome = await readAllDisks(host, { now: () => (clock += 100), budgetMs: 150 });
    assert.ok(outcome.ok);
    assert.deepEqual(host.runs.map((r) => r.args.at(-1)), ["-j", "/dev/sda"]);
    const codes = outcome.value.disks.map((d) => d.status === "failed" ? d.error.code : d.status);
    assert.deepEqual(codes, ["read", "timeout", "timeout"]);
  },
});

Deno.test("readAllDisks() reports a smartctl it had to kill as that disk's timeout", async () => {
  const scan = output('{"devices":[{"name":"/dev/sda","type":"sat"},{"name":"/dev/sdb"}]}');
  const killed = output("", 137, { signal: "SIGKILL", timedOut: true });
  const host = new FakeSmartctl(scan, {
    "/dev/sda": killed,
    "/dev/sdb": output('{"smartctl":{"exit_status":0},"smart_status":{"passed":true}}'),
  });
  const outcome = await readAllDisks(host);
  assert.ok(outcome.ok);
  const [sda, sdb] = outcome.value.disks;
  assert.equal(sda?.status === "failed" && sda.error.code, "timeout");
  assert.equal(sdb?.status, "read");
});

Deno.test("readAllDisks() fails as a whole when the scan itself fails", async () => {
  const cases: [CommandOutput, string][] = [
    [output("smartctl: unrecognized option '--scan-open'", 1), "command_failed"],
    [output('{"smartctl":{"exit_status":1}}', 1), "command_failed"],
    [output("", 137, { signal: "SIGKILL", timedOut: true }), "timeout"],
    [output('{"devices":[', 0, { stdoutTruncated: true }), "output_too_large"],
  ];
  for (const [scan, code] of cases) {
    const host = new FakeSmartctl(scan, {});
    const outcome = await readAllDisks(host);
    assert.equal(outcome.ok ? "ok" : outcome.code, code, JSON.stringify(scan));
    assert.equal(host.runs.length, 1);
  }
});

Deno.test({
  name: "execute() with a device runs exactly argv() and gives the report parse() gives",
  ignore: dir === undefined,
  async fn() {
    const failing = recorded("usb-jmicron-hdd-hitachi-failing-exit216.json");
    const host = new FakeSmartctl(output("", 2), { "/dev/sdc": failing });
    const spec = op.schema(settings).parse({ device: "/dev/sdc", deviceType: "usbjmicron" });
    const outcome = await op.execute!(spec, settings, host);
    assert.deepEqual(host.runs, [{ args: op.argv(spec, settings).args, timeoutMs: 60_000 }]);
    assert.deepEqual(outcome, op.parse(failing, spec));
  },
});
