/** `deno task op` end to end, as an operator runs it. */
import assert from "node:assert/strict";
import { fakeBin, scanningSmartctl, shQuote } from "./_fakes.ts";
import { fixtureDir, pctTranscript } from "./fixtures.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";

/** A valid create-golden-lxc command line with only the required fields. */
const LXC = [
  "create-golden-lxc",
  "--vmid",
  "9000",
  "--ostemplate",
  "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  "--storage",
  "local-lvm",
  "--rootfs-gb",
  "8",
];

async function op(args: string[], stdin = ""): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "op", ...args],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const output = await child.output();
  const text = new TextDecoder();
  return { code: output.code, out: text.decode(output.stdout), err: text.decode(output.stderr) };
}

Deno.test("op --help lists the four ops", async () => {
  const run = await op(["--help"]);
  assert.equal(run.code, 0);
  for (const name of ["create-golden-lxc", "mount-usb", "smart", "sensors"]) {
    assert.match(run.out, new RegExp(`^  ${name} `, "m"));
  }
});

Deno.test("op <op> --help lists the field flags generated from the schema", async () => {
  const expected: Record<string, string[]> = {
    "create-golden-lxc": [
      "vmid",
      "ostemplate",
      "storage",
      "rootfs-gb",
      "cores",
      "memory-mb",
      "hostname",
      "swap-mb",
      "net0",
      "nameserver",
      "searchdomain",
      "arch",
      "ostype",
      "tags",
      "description",
      "onboot",
      "start",
      "template",
    ],
    "mount-usb": ["uuid", "target", "fs-type", "read-only"],
    smart: ["device", "device-type"],
  };
  for (const [name, flags] of Object.entries(expected)) {
    const run = await op([name, "--help"]);
    assert.equal(run.code, 0);
    const listed = [...run.out.split("Common options")[0]!.matchAll(/^ {2}--([a-z0-9-]+)/gm)]
      .map((m) => m[1]);
    assert.deepEqual(listed, flags, name);
  }
});

Deno.test("op --dry-run prints the exact argv and Deno flags and runs nothing", async () => {
  const fakes = await fakeBin();
  try {
    const pct = await fakes.write("pct", "exit 0");
    const run = await op([
      ...LXC,
      "--memory-mb",
      "1024",
      "--dry-run",
      "--bin-path",
      `${fakes.dir}:${SYSTEM}`,
    ]);
    assert.equal(run.code, 0, run.err);
    const doc = JSON.parse(run.out);
    assert.equal(doc.dryRun, true);
    assert.deepEqual(doc.argv, [
      pct,
      "create",
      "9000",
      "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
      "--unprivileged",
      "1",
      "--features",
      "nesting=1,keyctl=1",
      "--rootfs",
      "local-lvm:8",
      "--memory",
      "1024",
    ]);
    assert.deepEqual(doc.denoFlags.filter((f: string) => f.startsWith("--allow")), [
      `--allow-run=${pct}`,
    ]);
    for (
      const flag of ["--no-prompt", "--no-remote", "--no-npm", "--no-config", "--no-code-cache"]
    ) {
      assert.ok(doc.denoFlags.includes(flag), flag);
    }
    assert.deepEqual(await fakes.calls("pct"), []);
  } finally {
    await fakes.remove();
  }
});

Deno.test("op --dry-run prints net0 and the golden-base fields as pct create options", async () => {
  const fakes = await fakeBin();
  try {
    const pct = await fakes.write("pct", "exit 0");
    const input = {
      net0: { name: "eth0", bridge: "vmbr0", ip: "10.0.0.5/24", gw: "10.0.0.1", tag: 10 },
      nameserver: ["10.0.0.1"],
      tags: ["golden", "base"],
    };
    const run = await op([
      ...LXC,
      "--input",
      JSON.stringify(input),
      "--swap-mb",
      "256",
      "--description",
      "Golden base, debian 12",
      "--onboot",
      "--template",
      "--dry-run",
      "--bin-path",
      `${fakes.dir}:${SYSTEM}`,
    ]);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(JSON.parse(run.out).argv.slice(10), [
      "--swap",
      "256",
      "--net0",
      "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,tag=10",
      "--nameserver",
      "10.0.0.1",
      "--tags",
      "golden;base",
      "--description=Golden base, debian 12",
      "--onboot",
      "1",
    ]);
    assert.equal(JSON.parse(run.out).argv[0], pct);
    assert.deepEqual(await fakes.calls("pct"), []);
  } finally {
    await fakes.remove();
  }
});

Deno.test("op refuses start together with template, and a bridge that injects a key", async () => {
  const base = [...LXC, "--dry-run"];
  const both = await op([...base, "--start", "--template"]);
  assert.equal(both.code, 2);
  assert.match(both.out, /a template cannot be started/);
  assert.deepEqual(JSON.parse(both.out).error.issues[0].path, ["start"]);
  const net0 = JSON.stringify({ net0: { name: "eth0", bridge: "vmbr0,ip=1.2.3.4", ip: "dhcp" } });
  const injected = await op([...base, "--input", net0]);
  assert.equal(injected.code, 2);
  assert.deepEqual(JSON.parse(injected.out).error.issues[0].path, ["net0", "bridge"]);
});

Deno.test("op exits 0 on success, 1 on an op failure, 2 on invalid input", async () => {
  const fakes = await fakeBin();
  try {
    await fakes.write("sensors", `printf '{}'; exit 1`);
    await fakes.write(
      "smartctl",
      `printf '{"smartctl":{"exit_status":2,"messages":[{"string":"Smartctl open device: /dev/sdb failed: No such device","severity":"error"}]}}'; exit 2`,
    );
    const binPath = `${fakes.dir}:${SYSTEM}`;
    const ok = await op(["sensors", "--bin-path", binPath]);
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(JSON.parse(ok.out).result, { chips: [], repairs: [], noSensors: true });
    const failed = await op(["smart", "--device", "/dev/sdb", "--bin-path", binPath]);
    assert.equal(failed.code, 1);
    assert.equal(JSON.parse(failed.out).error.code, "device_open_failed");
    const invalid = await op(["smart", "--device=--scan", "--bin-path", binPath]);
    assert.equal(invalid.code, 2);
    assert.deepEqual(JSON.parse(invalid.out).error.issues[0].path, ["device"]);
    assert.deepEqual(await fakes.calls("smartctl").then((c) => c.length), 1);
  } finally {
    await fakes.remove();
  }
});

Deno.test("op reads --input from stdin and lets field flags override it", async () => {
  const run = await op(
    ["smart", "--input", "-", "--device", "/dev/sdc", "--dry-run"],
    JSON.stringify({ device: "/dev/sdb", deviceType: "sat" }),
  );
  assert.equal(run.code, 0, run.err);
  assert.deepEqual(JSON.parse(run.out).argv.slice(1), ["-a", "-j", "-d", "sat", "/dev/sdc"]);
});

Deno.test("op refuses unknown ops, unknown flags and bad JSON with exit 2", async () => {
  assert.equal((await op(["reboot"])).code, 2);
  assert.equal((await op(["smart", "--device", "/dev/sda", "--args", "-x"])).code, 2);
  assert.equal((await op(["smart", "--input", "{not json"])).code, 2);
  assert.equal((await op(["smart", "--device", "/dev/sda", "--runner", "ssh"])).code, 2);
});

Deno.test("op --format table prints the human summary of a real-shaped sensors run", async () => {
  const fakes = await fakeBin();
  try {
    await fakes.write(
      "sensors",
      `printf '{"acpitz-acpi-0":{"Adapter": "ACPI interface","temp1":{"temp1_input": nan,"temp1_crit": 119.000}}}'`,
    );
    const run = await op(["sensors", "--format", "table", "--bin-path", `${fakes.dir}:${SYSTEM}`]);
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /^acpitz-acpi-0 +temp1 +temp +- +- +- +119 +-$/m);
    assert.match(run.out, /repaired: replaced 1 bare nan\/inf value\(s\) with null/);
    assert.equal((await op(["mount-usb", "--format", "table"])).code, 2);
  } finally {
    await fakes.remove();
  }
});

Deno.test("op --dry-run previews an op whose binary is missing, marks it unresolved and exits 0", async () => {
  // Defect: a dry run on a machine without pct exited 1 with binary_not_found, so nobody could
  // preview create-golden-lxc anywhere but on a Proxmox host.
  const empty = await Deno.makeTempDir({ prefix: "rootfence-cli-nobin-" });
  try {
    const run = await op([
      "create-golden-lxc",
      "--vmid",
      "100",
      "--ostemplate",
      "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
      "--storage",
      "local-lvm",
      "--rootfs-gb",
      "8",
      "--bin-path",
      empty,
      "--dry-run",
    ]);
    assert.equal(run.code, 0, run.err);
    const doc = JSON.parse(run.out);
    assert.deepEqual(doc.unresolved, ["pct"]);
    assert.equal(doc.argv[0], "<pct: not found>");
    assert.ok(doc.denoFlags.includes("--allow-run=<pct: not found>"));
    assert.match(run.err, /^rootfence: not on the bin path: pct; a real run fails/m);
  } finally {
    await Deno.remove(empty);
  }
});

const smartDir = fixtureDir("smartctl");
const pctDir = fixtureDir("pct");

Deno.test({
  name: "op smart --fail-on exits 1 for a failing disk by default, and 0 with never",
  ignore: smartDir === undefined,
  async fn() {
    const fakes = await fakeBin();
    try {
      const capture = `${smartDir}/usb-jmicron-hdd-hitachi-failing-exit216.json`;
      await fakes.write("smartctl", `cat ${shQuote(capture)}; exit 216`);
      const smart = ["smart", "--device", "/dev/sdc", "--bin-path", `${fakes.dir}:${SYSTEM}`];
      const failing = await op(smart);
      assert.equal(failing.code, 1, failing.err);
      const doc = JSON.parse(failing.out);
      assert.equal(doc.ok, true, "the op itself succeeded: the check failed");
      assert.equal(doc.result.health, "failing");
      assert.match(failing.err, /^Check failed: health is "failing" \(--fail-on failing\)$/m);
      assert.equal((await op([...smart, "--fail-on", "warning"])).code, 1);
      assert.equal((await op([...smart, "--fail-on", "never"])).code, 0);
      const table = await op([...smart, "--format", "table", "--fail-on", "failing"]);
      assert.equal(table.code, 1);
      assert.match(table.out, /^Health +FAILING$/m);
      const bad = await op([...smart, "--fail-on", "sometimes"]);
      assert.equal(bad.code, 2);
      assert.match(bad.err, /^Cannot use --fail-on "sometimes": use failing, warning or never$/m);
      assert.equal((await fakes.calls("smartctl")).length, 4, "a usage error runs nothing");
    } finally {
      await fakes.remove();
    }
  },
});

Deno.test("op --fail-on keeps exit 1 for an op that failed, and refuses an op without a check", async () => {
  const fakes = await fakeBin();
  try {
    await fakes.write(
      "smartctl",
      `printf '{"smartctl":{"exit_status":2,"messages":[{"string":"Smartctl open device: /dev/sdb failed: No such device","severity":"error"}]}}'; exit 2`,
    );
    const binPath = `${fakes.dir}:${SYSTEM}`;
    const failed = await op([
      "smart",
      "--device",
      "/dev/sdb",
      "--fail-on",
      "never",
      "--bin-path",
      binPath,
    ]);
    assert.equal(failed.code, 1);
    assert.equal(JSON.parse(failed.out).error.code, "device_open_failed");
    const sensors = await op(["sensors", "--fail-on", "failing", "--bin-path", binPath]);
    assert.equal(sensors.code, 2);
    assert.match(sensors.err, /^Cannot use --fail-on for "sensors": it has no check$/m);
  } finally {
    await fakes.remove();
  }
});

Deno.test("an invalid field is named with its rule in words and an example, never a regex", async () => {
  // Defect: validation said `must match pattern /^\/dev\/(?:sd[a-z]{1,3}|...)$/`.
  const cases: [string[], string, RegExp][] = [
    [["smart", "--device", "/dev/sda1"], "device", /whole-disk device such as \/dev\/sda/],
    [["smart", "--device", "/dev/sda", "--device-type", "x"], "deviceType", /such as sat/],
    [["mount-usb", "--uuid", "nope", "--target", "a", "--fs-type", "zfs"], "uuid", /1298-0BD4/],
    [["mount-usb", "--uuid", "1298-0BD4", "--target", "a", "--fs-type", "zfs"], "fsType", /"vfat"/],
    [
      [
        "create-golden-lxc",
        "--vmid",
        "100",
        "--ostemplate",
        "x",
        "--storage",
        "l",
        "--rootfs-gb",
        "8",
      ],
      "ostemplate",
      /local:vztmpl\/debian-12/,
    ],
  ];
  for (const [args, field, rule] of cases) {
    const run = await op([...args, "--dry-run"]);
    assert.equal(run.code, 2, args.join(" "));
    const issue = JSON.parse(run.out).error.issues.find((i: { path: string[] }) =>
      i.path[0] === field
    );
    assert.ok(issue, `${args.join(" ")}: no issue for ${field}`);
    assert.match(issue.message, rule);
    assert.doesNotMatch(issue.message, /pattern|\/\^/);
  }
  const table = await op(["smart", "--device", "/dev/sda1", "--format", "table"]);
  assert.match(table.out, /^ {2}--device: must be a whole-disk device such as/m);
});

Deno.test({
  name: "op smart without a device reads every scanned disk, and one that fails hides no other",
  ignore: smartDir === undefined,
  async fn() {
    const fakes = await fakeBin();
    try {
      await fakes.write(
        "smartctl",
        scanningSmartctl(`${smartDir}/scan-sat-and-nvme-7.4.json`, {
          "/dev/sda": [`${smartDir}/ata-sat-hdd-wd-wd181kryz-7.3.json`, 0],
          "/dev/nvme0": [`${smartDir}/nvme-samsung-970evo-media-errors-7.json`, 0],
          "/dev/nvme1": [`${smartDir}/error-windows-open-failed-exit2.json`, 2],
        }),
      );
      const smart = ["smart", "--bin-path", `${fakes.dir}:${SYSTEM}`];
      const run = await op(smart);
      const doc = JSON.parse(run.out);
      assert.equal(doc.ok, true, run.err);
      assert.deepEqual(doc.argv.slice(1), ["--scan-open", "-j"]);
      assert.deepEqual(doc.command.argv.slice(1), ["--scan-open", "-j"]);
      assert.deepEqual(doc.result.counts, { found: 3, read: 2, failed: 1, skipped: 0 });
      assert.deepEqual(
        doc.result.disks.map((d: { device: string; status: string }) => [d.device, d.status]),
        [["/dev/sda", "read"], ["/dev/nvme0", "read"], ["/dev/nvme1", "failed"]],
      );
      assert.equal(doc.result.disks[0].report.health, "ok");
      assert.equal(doc.result.disks[1].report.health, "warning");
      assert.equal(doc.result.disks[2].error.code, "device_open_failed");
      // The unread disk fails the default check; never passes everything.
      assert.equal(run.code, 1);
      assert.match(run.err, /^Check failed: \/dev\/nvme1: not read \(device_open_failed\)/m);
      assert.equal((await op([...smart, "--fail-on", "never"])).code, 0);
      const calls = (await fakes.calls("smartctl")).map((c) => c.argv.slice(1).join(" "));
      assert.deepEqual(calls.slice(0, 4), [
        "--scan-open -j",
        "-a -j -d sat /dev/sda",
        "-a -j -d nvme /dev/nvme0",
        "-a -j -d nvme /dev/nvme1",
      ]);
    } finally {
      await fakes.remove();
    }
  },
});

Deno.test({
  name: "op smart without a device skips a scanned name outside the anchored patterns, unrun",
  ignore: smartDir === undefined,
  async fn() {
    const fakes = await fakeBin();
    try {
      // The real scan of one NVMe drive, with entries no user input could name (synthetic).
      const scan = JSON.parse(await Deno.readTextFile(`${smartDir}/scan-nvme.json`));
      scan.devices.push(
        { name: "/dev/sda;reboot", type: "sat", protocol: "ATA" },
        { name: "/dev/twa0", type: "3ware,0", protocol: "ATA" },
        { name: "/dev/sdb", type: "sat -T permissive", protocol: "ATA" },
      );
      const scanFile = `${fakes.dir}/scan.json`;
      await Deno.writeTextFile(scanFile, JSON.stringify(scan));
      await fakes.write(
        "smartctl",
        scanningSmartctl(scanFile, {
          "/dev/nvme0": [`${smartDir}/nvme-corsair-force-mp510.json`, 0],
        }),
      );
      const run = await op(["smart", "--format", "table", "--bin-path", `${fakes.dir}:${SYSTEM}`]);
      assert.equal(run.code, 0, run.err);
      const blocks = run.out.trimEnd().split("\n\n");
      assert.equal(blocks[0], "Disks     4 found: 1 read, 0 not read, 3 skipped");
      assert.match(blocks[1]!, /^Device +\/dev\/nvme0 \(nvme, NVMe\)\n[^]*^Health +OK$/m);
      assert.match(blocks[2]!, /^Device +\/dev\/sda;reboot \(sat, ATA\)\nHealth +SKIPPED\n/);
      assert.match(blocks[3]!, /^Device +\/dev\/twa0 [^]*Reason +device: must be a whole-disk/);
      assert.match(blocks[4]!, /^Device +\/dev\/sdb [^]*Reason +deviceType: must be a smartctl/);
      const calls = (await fakes.calls("smartctl")).map((c) => c.argv.slice(1).join(" "));
      assert.deepEqual(calls, ["--scan-open -j", "-a -j -d nvme /dev/nvme0"]);
    } finally {
      await fakes.remove();
    }
  },
});

Deno.test("a list or object field takes JSON in its own flag, and anything else is one usage line", async () => {
  const base = LXC;
  const run = await op([
    ...base,
    "--net0",
    '{"name":"eth0","bridge":"vmbr0","ip":"dhcp"}',
    "--tags",
    '["golden","base"]',
    "--dry-run",
  ]);
  assert.equal(run.code, 0, run.err);
  const argv: string[] = JSON.parse(run.out).argv;
  assert.deepEqual(argv.slice(argv.indexOf("--net0"), argv.indexOf("--net0") + 2), [
    "--net0",
    "name=eth0,bridge=vmbr0,ip=dhcp",
  ]);
  assert.deepEqual(argv.slice(argv.indexOf("--tags"), argv.indexOf("--tags") + 2), [
    "--tags",
    "golden;base",
  ]);
  const bad = await op([...base, "--net0", "eth0", "--dry-run"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^Cannot read --net0: give JSON, e\.g\. '\{"name":"eth0"\}'\nSee: /);
});

Deno.test({
  name: "op create-golden-lxc prints pct's lines on stderr as they come, escapes dropped; " +
    "stdout stays one document",
  ignore: pctDir === undefined,
  async fn() {
    const fakes = await fakeBin();
    const gate = `${fakes.dir}/go`;
    // The real worker log of a create that failed in its setup: its last line is pct's error.
    const log = pctTranscript(pctDir!, "pct-create-other-post-create-hook-task-log-1.txt")
      .trimEnd().split("\n");
    const [first, second, ...rest] = log.slice(0, -1);
    try {
      await Deno.writeTextFile(`${fakes.dir}/rest`, rest.join("\n") + "\n");
      await Deno.writeTextFile(`${fakes.dir}/last`, log.at(-1)! + "\n");
      // The second line comes coloured, as a terminal-minded tool might print it.
      await fakes.write(
        "pct",
        `printf '%s\\n\\033[31;1m%s\\033[0m\\n' ${shQuote(first!)} ${shQuote(second!)}
         while [ ! -e ${shQuote(gate)} ]; do sleep 0.05; done
         cat ${shQuote(`${fakes.dir}/rest`)}; cat ${shQuote(`${fakes.dir}/last`)} >&2; exit 255`,
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["task", "-q", "op", ...LXC, "--bin-path", `${fakes.dir}:${SYSTEM}`],
        cwd: root,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const out = new Response(child.stdout).text();
      const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let err = "";
      const deadline = Date.now() + 20_000;
      while (err.split("\n").length < 3) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no progress on stderr while pct ran: ${err}`)),
            deadline - Date.now(),
          );
        });
        const next = await Promise.race([lines.read(), late]).finally(() => clearTimeout(timer));
        assert.ok(!next.done, `stderr ended early: ${err}`);
        err += next.value;
      }
      // pct still waits at the gate: the lines came while it ran, not with the answer.
      assert.equal((await fakes.calls("pct")).length, 1);
      await Deno.writeTextFile(gate, "");
      for (let next = await lines.read(); !next.done; next = await lines.read()) err += next.value;
      assert.equal((await child.status).code, 1, err);
      // pct's stdout lines in their order; its one stderr line comes from another pipe, anywhere.
      const shown = err.trimEnd().split("\n");
      const error = `create-golden-lxc: ${log.at(-1)}`;
      assert.equal(shown.filter((line) => line === error).length, 1, err);
      assert.deepEqual(
        shown.filter((line) => line !== error),
        log.slice(0, -1).map((line) => `create-golden-lxc: ${line}`),
      );
      assert.ok(!err.includes("\x1b"), err);
      const doc = JSON.parse(await out);
      assert.equal(doc.ok, false);
      assert.equal(doc.command.stderrTail, log.at(-1));
    } finally {
      await Deno.writeTextFile(gate, "").catch(() => {});
      await fakes.remove();
    }
  },
});
