/**
 * The launcher across a real process boundary: recording fakes first on the bin path record
 * exactly what ran and with which environment (the Go original's "which commands ran" test).
 */
import assert from "node:assert/strict";
import { findOp } from "../ops/mod.ts";
import { HOST_ENV } from "../runtime/child/host_command.ts";
import { RootfenceError } from "../runtime/errors.ts";
import { Launcher } from "../runtime/process/launcher.ts";
import { fakeBin, shQuote } from "./_fakes.ts";
import { until } from "./_watch.ts";
import { fixtureDir, pctTranscript } from "./fixtures.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";
// Variables a POSIX shell sets for itself; everything else must come from the child.
const SHELL_OWN = new Set(["PWD", "SHLVL", "_", "OLDPWD"]);

function hostEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !SHELL_OWN.has(k)));
}

Deno.test("launcher runs exactly the built argv with a cleared environment", async () => {
  const fakes = await fakeBin();
  try {
    const smartctl = await fakes.write(
      "smartctl",
      `printf '{"smartctl":{"exit_status":0},"device":{"name":"/dev/nvme0"}}'`,
    );
    Deno.env.set("ROOTFENCE_TEST_SECRET", "must-not-leak");
    const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}` });
    const run = await launcher.invoke(findOp("smart")!, {
      device: "/dev/nvme0",
      deviceType: "nvme",
    });
    assert.equal(run.ok, true, JSON.stringify(run));
    assert.deepEqual(run.argv, [smartctl, "-a", "-j", "-d", "nvme", "/dev/nvme0"]);
    const calls = await fakes.calls("smartctl");
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.argv, [smartctl, "-a", "-j", "-d", "nvme", "/dev/nvme0"]);
    assert.deepEqual(hostEnv(calls[0]!.env), HOST_ENV);
    assert.equal(run.command?.exitCode, 0);
  } finally {
    Deno.env.delete("ROOTFENCE_TEST_SECRET");
    await fakes.remove();
  }
});

Deno.test("launcher never spawns for invalid input and reports the zod paths", async () => {
  const fakes = await fakeBin();
  try {
    for (const name of ["pct", "mount", "smartctl", "sensors"]) await fakes.write(name, "exit 0");
    const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}` });
    const cases: [string, unknown, string][] = [
      ["smart", { device: "-t long" }, "device"],
      ["smart", { device: "--scan" }, "device"],
      ["mount-usb", { uuid: "1298-0BD4", target: "/mnt/usb/../../etc", fsType: "vfat" }, "target"],
      ["mount-usb", { uuid: "1298-0BD4", target: "/etc", fsType: "vfat" }, "target"],
      ["create-golden-lxc", {
        vmid: 99,
        ostemplate: "local:vztmpl/d.tar.zst",
        storage: "local",
        rootfsGb: 8,
      }, "vmid"],
      ["create-golden-lxc", {
        vmid: 100,
        ostemplate: "local:vztmpl/d.tar.zst",
        storage: "/dev/sda",
        rootfsGb: 8,
      }, "storage"],
      ["create-golden-lxc", {
        vmid: 100,
        ostemplate: "local:vztmpl/d.tar.zst",
        storage: "local",
        rootfsGb: 8,
        hostname: "a\nb",
      }, "hostname"],
      ["create-golden-lxc", {
        vmid: 100,
        ostemplate: "local:vztmpl/d.tar.zst",
        storage: "local",
        rootfsGb: 8,
        net0: { name: "eth0", bridge: "vmbr0,ip=1.2.3.4", ip: "dhcp" },
      }, "net0.bridge"],
      ["create-golden-lxc", {
        vmid: 100,
        ostemplate: "local:vztmpl/d.tar.zst",
        storage: "local",
        rootfsGb: 8,
        start: true,
        template: true,
      }, "start"],
      ["sensors", { extra: 1 }, ""],
      ["sensors", "not an object", ""],
    ];
    for (const [name, input, path] of cases) {
      const run = await launcher.invoke(findOp(name)!, input);
      assert.equal(run.error?.code, "invalid_input", `${name} ${JSON.stringify(input)}`);
      const issues = run.error?.issues as { path: string[] }[];
      assert.ok(issues.length > 0);
      if (path) assert.equal(issues[0]!.path.join("."), path);
    }
    for (const name of ["pct", "mount", "smartctl", "sensors"]) {
      assert.deepEqual(await fakes.calls(name), [], `${name} ran`);
    }
  } finally {
    await fakes.remove();
  }
});

const pctDir = fixtureDir("pct");

Deno.test({
  name: "launcher classifies a real pct failure replayed by a recording fake",
  ignore: pctDir === undefined,
  async fn() {
    const fakes = await fakeBin();
    try {
      const transcript = `${fakes.dir}/transcript`;
      await Deno.writeTextFile(
        transcript,
        pctTranscript(pctDir!, "pct-create-ct-exists-1-via-api-ansible.txt"),
      );
      const pct = await fakes.write("pct", `cat ${shQuote(transcript)} >&2; exit 255`);
      const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}` });
      const run = await launcher.invoke(findOp("create-golden-lxc")!, {
        vmid: 102,
        ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        storage: "local-lvm",
        rootfsGb: 8,
        hostname: "golden",
      });
      assert.equal(run.error?.code, "ct_exists");
      assert.match(String(run.error?.message), /CT 102 already exists on node 'mynode'/);
      assert.equal(run.command?.exitCode, 255);
      const calls = await fakes.calls("pct");
      assert.deepEqual(calls.map((c) => c.argv), [[
        pct,
        "create",
        "102",
        "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        "--unprivileged",
        "1",
        "--features",
        "nesting=1,keyctl=1",
        "--rootfs",
        "local-lvm:8",
        "--hostname",
        "golden",
      ]]);
    } finally {
      await fakes.remove();
    }
  },
});

const golden = {
  vmid: 102,
  ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  storage: "local-lvm",
  rootfsGb: 8,
  net0: { name: "eth0", bridge: "vmbr0", ip: "dhcp" },
  template: true,
};

/** A recording fake pct whose `create` and `template` exit with the given statuses. */
async function goldenRun(createExit: number, templateExit: number) {
  const fakes = await fakeBin();
  const pct = await fakes.write(
    "pct",
    `case "$1" in create) echo "create failed" >&2; exit ${createExit};; ` +
      `template) echo "template failed" >&2; exit ${templateExit};; esac; exit 99`,
  );
  try {
    const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}` });
    const run = await launcher.invoke(findOp("create-golden-lxc")!, golden);
    const calls = (await fakes.calls("pct")).map((c) => c.argv.slice(1, 3));
    return { run, calls, pct };
  } finally {
    await fakes.remove();
  }
}

Deno.test("launcher runs pct template <vmid> only after a successful pct create", async () => {
  const { run, calls } = await goldenRun(0, 0);
  assert.equal(run.error, undefined);
  assert.deepEqual(run.result, { vmid: 102, created: true, template: true, log: "" });
  assert.deepEqual(calls, [["create", "102"], ["template", "102"]]);
});

Deno.test("launcher never runs pct template after a failed pct create", async () => {
  const { run, calls } = await goldenRun(2, 0);
  assert.equal(run.error?.code, "command_failed");
  assert.deepEqual(calls, [["create", "102"]]);
});

Deno.test("launcher reports template_failed when pct template fails after a create", async () => {
  const { run, calls } = await goldenRun(0, 255);
  assert.equal(run.error?.code, "template_failed");
  assert.match(String(run.error?.message), /created but is not a template: template failed$/);
  assert.deepEqual(calls, [["create", "102"], ["template", "102"]]);
});

Deno.test("a start that cannot be put on record sends no request: pct never runs, its child ends", async () => {
  const fakes = await fakeBin();
  await fakes.write("pct", "exit 0");
  const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}`, pool: {} });
  try {
    let child = 0;
    const run = await launcher.invoke(findOp("create-golden-lxc")!, golden, {
      onStart(pgid) {
        child = pgid;
        throw new RootfenceError("journal_unavailable", "Cannot start: nothing on record");
      },
    });
    assert.equal(run.ok, false);
    assert.equal(run.error?.code, "journal_unavailable");
    assert.deepEqual(await fakes.calls("pct"), []);
    assert.ok(child > 0);
    assert.ok(await until(() => !alive(child), 5_000), "the child was left running");
  } finally {
    await launcher.close();
    await fakes.remove();
  }
});

Deno.test("a pooled read's child whose start is refused goes back unused and serves the next", async () => {
  const fakes = await fakeBin();
  await fakes.write("sensors", `printf '%s' ${shQuote('{"chip":{"Adapter":"x"}}')}`);
  const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}`, pool: {} });
  try {
    const sensors = findOp("sensors")!;
    const pids: number[] = [];
    const refused = await launcher.invoke(sensors, {}, {
      onStart(pgid) {
        pids.push(pgid);
        throw new RootfenceError("journal_unavailable", "Cannot start: nothing on record");
      },
    });
    assert.equal(refused.error?.code, "journal_unavailable");
    assert.deepEqual(await fakes.calls("sensors"), []);
    const next = await launcher.invoke(sensors, {}, { onStart: (pgid) => void pids.push(pgid) });
    assert.equal(next.ok, true, JSON.stringify(next.error));
    assert.equal(pids[1], pids[0], "the next read took another child");
    assert.equal((await fakes.calls("sensors")).length, 1);
  } finally {
    await launcher.close();
    await fakes.remove();
  }
});

Deno.test("an invocation aborted before it began sends no request and leaves its child whole", async () => {
  const fakes = await fakeBin();
  await fakes.write("pct", "exit 0");
  await fakes.write("sensors", `printf '%s' ${shQuote('{"chip":{"Adapter":"x"}}')}`);
  const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}`, pool: {} });
  try {
    const signal = AbortSignal.abort();
    const mutating = await launcher.invoke(findOp("create-golden-lxc")!, golden, { signal });
    assert.equal(mutating.error?.code, "interrupted");
    assert.deepEqual(await fakes.calls("pct"), []);
    const pids: number[] = [];
    const sensors = findOp("sensors")!;
    launcher.warm([sensors]);
    assert.ok(await until(() => launcher.pool!.ready(sensors) === 1, 10_000), "no warm child");
    const onStart = (pgid: number) => void pids.push(pgid);
    assert.equal(
      (await launcher.invoke(sensors, {}, { signal, onStart })).error?.code,
      "interrupted",
    );
    assert.equal((await launcher.invoke(sensors, {}, { onStart })).ok, true);
    assert.equal(pids.length, 2);
    assert.equal(pids[1], pids[0], "the aborted call cost the pool its warm child");
    assert.equal((await fakes.calls("sensors")).length, 1);
  } finally {
    await launcher.close();
    await fakes.remove();
  }
});

Deno.test("launcher reports binary_not_found without spawning when pct is absent", async () => {
  const fakes = await fakeBin();
  try {
    const launcher = await Launcher.create({ binPath: fakes.dir });
    const run = await launcher.invoke(findOp("create-golden-lxc")!, {
      vmid: 100,
      ostemplate: "local:vztmpl/d.tar.zst",
      storage: "local",
      rootfsGb: 8,
    });
    assert.equal(run.error?.code, "binary_not_found");
    assert.deepEqual(run.argv.slice(0, 2), ["pct", "create"]);
  } finally {
    await fakes.remove();
  }
});

Deno.test("a started child waits for its input on stdin (ready to be pooled)", async () => {
  const fakes = await fakeBin();
  try {
    await fakes.write("sensors", `printf '{"acpitz-acpi-0":{"Adapter":"ACPI interface"}}'`);
    const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}` });
    const child = launcher.start(findOp("sensors")!);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(await fakes.calls("sensors"), [], "nothing ran before the input came");
    const reply = await child.run({}, 10_000);
    assert.equal(reply.ok, true);
    assert.equal((await fakes.calls("sensors")).length, 1);
  } finally {
    await fakes.remove();
  }
});

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

Deno.test("a timeout kills the whole tree, grandchildren included", async () => {
  const fakes = await fakeBin();
  try {
    const pids = `${fakes.dir}/pids`;
    await fakes.write(
      "sensors",
      `sleep 301 & echo $! > ${shQuote(pids)}; echo $$ >> ${shQuote(pids)}; sleep 302; wait`,
    );
    const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}` });
    const run = await launcher.invoke(findOp("sensors")!, {}, { timeoutMs: 1500 });
    assert.equal(run.error?.code, "timeout");
    const started = (await Deno.readTextFile(pids)).trim().split("\n").map(Number);
    assert.equal(started.length, 2);
    let survivors = started;
    for (let i = 0; i < 40 && survivors.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      survivors = started.filter(alive);
    }
    assert.deepEqual(survivors, [], "processes left behind");
  } finally {
    await fakes.remove();
  }
});

Deno.test("a 100 MiB output flood is capped at 1 MiB and the launcher's memory stays flat", async () => {
  const fakes = await fakeBin();
  try {
    await fakes.write("sensors", "head -c 104857600 /dev/zero | tr '\\0' 'x'");
    const script = new URL("./_flood_launcher.ts", import.meta.url).pathname;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, `${fakes.dir}:${SYSTEM}`],
      stderr: "inherit",
    }).output();
    assert.equal(output.code, 0);
    const { run, growthBytes } = JSON.parse(new TextDecoder().decode(output.stdout));
    const growthMiB = growthBytes / (1024 * 1024);
    console.log(`launcher RSS growth during a 100 MiB flood: ${growthMiB.toFixed(1)} MiB`);
    assert.equal(run.error?.code, "output_too_large");
    assert.equal(run.command?.stdoutBytes, 104857600);
    assert.equal(run.command?.stdoutTruncated, true);
    assert.ok(growthMiB < 8, `launcher RSS grew ${growthMiB.toFixed(1)} MiB`);
  } finally {
    await fakes.remove();
  }
});

Deno.test("sudo mode runs the same fenced child through sudo -n (recording fake sudo)", async () => {
  const fakes = await fakeBin();
  try {
    const sensors = await fakes.write("sensors", `printf '{"k10temp-pci-00c3":{}}'`);
    // The fake drops "-n --" and runs the rest, as sudo would after its policy check.
    const sudo = await fakes.write("sudo", `shift 2; exec "$@"`);
    const launcher = await Launcher.create({
      binPath: `${fakes.dir}:${SYSTEM}`,
      runner: "sudo",
      sudoPath: sudo,
    });
    const run = await launcher.invoke(findOp("sensors")!, {});
    assert.equal(run.ok, true, JSON.stringify(run));
    const [call] = await fakes.calls("sudo");
    const direct = launcher.childCommand(findOp("sensors")!);
    assert.deepEqual(call!.argv.slice(1, 4), ["-n", "--", await Deno.realPath(Deno.execPath())]);
    assert.ok(call!.argv.includes(`--allow-run=${sensors}`));
    assert.deepEqual(call!.argv.slice(1), [...direct.args]);
    assert.equal((await fakes.calls("sensors")).length, 1);
  } finally {
    await fakes.remove();
  }
});

Deno.test("sudo refusing the command line is denied, with sudo's own message", async () => {
  const fakes = await fakeBin();
  try {
    await fakes.write("sensors", `printf '{}'`);
    // What Debian's sudo -n prints when the line is not in sudoers.
    const sudo = await fakes.write("sudo", `echo "sudo: a password is required" >&2; exit 1`);
    const launcher = await Launcher.create({
      binPath: `${fakes.dir}:${SYSTEM}`,
      runner: "sudo",
      sudoPath: sudo,
    });
    const run = await launcher.invoke(findOp("sensors")!, {});
    assert.equal(run.error?.code, "denied", JSON.stringify(run));
    assert.match(String(run.error?.message), /sudo: a password is required/);
    assert.deepEqual(await fakes.calls("sensors"), []);
  } finally {
    await fakes.remove();
  }
});

Deno.test("a pooled child's replies arrive whole either side of the 16 KiB it writes from its own thread", async () => {
  // Short replies go out with writeSync, longer ones through awaited writes: one child serves
  // both in turn over the same pipe, and each answer is the whole of its run.
  const fakes = await fakeBin();
  const big = `${fakes.dir}/big`;
  try {
    await fakes.write(
      "sensors",
      [
        `if [ -e ${shQuote(big)} ]; then`,
        `  printf '{'; i=0; while [ $i -lt 399 ]; do printf '"c-%s":{"Adapter":"ISA","t%s":{"temp1_input":40.5}},' $i $i; i=$((i+1)); done`,
        `  printf '"c-399":{"Adapter":"ISA","t399":{"temp1_input":40.5}}}'`,
        `else printf '{"c-0":{"Adapter":"ISA","t0":{"temp1_input":40.5}}}'; fi`,
      ].join("\n"),
    );
    const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}`, pool: {} });
    const sensors = findOp("sensors")!;
    try {
      for (const chips of [1, 400, 1, 400]) {
        if (chips > 1) await Deno.writeTextFile(big, "");
        else await Deno.remove(big).catch(() => {});
        const run = await launcher.invoke(sensors, {});
        assert.equal(run.ok, true, JSON.stringify(run).slice(0, 300));
        const got = (run.result as { chips: unknown[] }).chips.length;
        assert.equal(got, chips);
        if (chips > 1) assert.ok(JSON.stringify(run.result).length > 16 * 1024);
      }
      assert.equal(launcher.pool!.counts.started, 1, "one child served all four");
    } finally {
      await launcher.close();
    }
  } finally {
    await fakes.remove();
  }
});
