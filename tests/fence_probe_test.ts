/**
 * The fence, for real: each op's exact child flags, with only the entry swapped for the probe,
 * must refuse network, files, env, sys, ffi, remote and computed imports, every other binary and
 * signals, and must allow the op's own binaries (and, for mount-usb, exactly its mount base).
 */
import assert from "node:assert/strict";
import { findOp, OPS } from "../ops/mod.ts";
import { FENCE_BINARIES } from "../ops/types.ts";
import { resolveBinaries } from "../runtime/process/fence.ts";
import { fakeBin } from "./_fakes.ts";
import { Launcher } from "../runtime/process/launcher.ts";
import { probePlan, probeProblems, REFUSED_WITH, runProbe } from "../runtime/audit/live_probe.ts";

// pct cannot be installed off Proxmox: it is faked. So is any other fenced binary this machine
// lacks (no smartmontools, no lm-sensors): these tests prove Deno's refusals, which do not depend
// on the real binary; tests/real_binaries_test.ts runs the real ones.
const fakes = await fakeBin();
const system = await resolveBinaries("/usr/sbin:/usr/bin:/sbin:/bin");
for (const name of FENCE_BINARIES) {
  if (name === "pct" || system[name] === undefined) {
    await fakes.write(name, "exit 0");
    if (name !== "pct") console.log(`skip: real ${name} not installed; the fence tests use a fake`);
  }
}
const stateDir = await Deno.makeTempDir({ prefix: "rootfence-state-" });
// A base of its own, so even a fence that failed would only touch this temporary directory.
const mountDir = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence-fence-" }));
const mountBase = `${mountDir}/usb`;
const launcher = await Launcher.create({
  binPath: `${fakes.dir}:/usr/sbin:/usr/bin:/sbin:/bin`,
  settings: { mountBase },
});
const settings = launcher.settings;

for (const op of OPS) {
  Deno.test(`fence: ${op.name} child refuses everything outside its set (NotCapable)`, async () => {
    const plan = probePlan(op, launcher.binaries, { settings, stateDir });
    if (plan.own.length !== op.permissions.run.length) {
      console.log(`skip: ${op.permissions.run.join(",")} not installed`);
      return;
    }
    const attempts = await runProbe(launcher, op, plan);
    const byName = new Map(attempts.map((a) => [a.attempt, a]));
    assert.deepEqual(probeProblems(attempts, plan), []);
    // The judge above is shared with the audit; assert the key refusals here too.
    for (const attempt of Object.keys(REFUSED_WITH)) {
      assert.equal(byName.get(attempt)?.allowed, false, attempt);
    }
    assert.match(byName.get(`read ${stateDir}`)!.error, /^NotCapable: Requires read access/);
    assert.match(byName.get(`read /`)!.error, /^NotCapable: Requires read access/);
    assert.ok(plan.others.length >= 3, "other ops' binaries were tried");
  });
}

Deno.test("fence: mount-usb holds its mount base and nothing beside or above it", async () => {
  const op = findOp("mount-usb")!;
  const plan = probePlan(op, launcher.binaries, { settings, stateDir });
  if (plan.own.length !== op.permissions.run.length) {
    console.log("skip: mount or findmnt not installed");
    return;
  }
  assert.deepEqual(launcher.childCommand(op).denoFlags.filter((f) => /^--allow-/.test(f)), [
    `--allow-run=${plan.own.join(",")}`,
    `--allow-read=${mountBase}`,
    `--allow-write=${mountBase}`,
  ]);
  const attempts = await runProbe(launcher, op, plan);
  const byName = new Map(attempts.map((a) => [a.attempt, a]));
  for (const kind of ["read", "write"]) {
    assert.equal(byName.get(`granted ${kind} ${mountBase}`)?.allowed, true, kind);
  }
  for (const path of [mountDir, `${mountBase}-probe`]) {
    assert.match(byName.get(`read ${path}`)!.error, /^NotCapable: Requires read access/, path);
  }
  for (const path of [`${mountDir}/rootfence-probe`, `${mountBase}-probe`]) {
    assert.match(byName.get(`write ${path}`)!.error, /^NotCapable: Requires write access/, path);
  }
  assert.deepEqual([...Deno.readDirSync(mountDir)], [], "the probe created nothing");
});

async function startWithExtraGrant(opName: string, widen: (args: string[]) => void) {
  const command = launcher.childCommand(findOp(opName)!);
  const args = [...command.args];
  widen(args);
  const output = await new Deno.Command(command.command, {
    args,
    clearEnv: true,
    env: { ...command.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("fence: a child started with extra grants refuses to run", async () => {
  const command = launcher.childCommand(findOp("sensors")!);
  const started = await startWithExtraGrant("sensors", (args) => {
    args.splice(command.denoFlags.length, 0, "--allow-env");
  });
  assert.equal(started.code, 3);
  assert.match(started.stderr, /grants outside its fence: env/);
});

Deno.test("fence: a mount-usb child granted more than its base refuses to run", async () => {
  const widened: [string, string, RegExp][] = [
    ["--allow-read=", "/", /grants outside its fence: read \/(,|$)/m],
    ["--allow-read=", "/etc", /grants outside its fence: read \/etc/],
    ["--allow-read=", mountDir, new RegExp(`read ${mountDir}`)],
    ["--allow-write=", mountDir, new RegExp(`write ${mountDir}`)],
    ["--allow-write=", "/tmp", /write \/tmp/],
  ];
  for (const [flag, extra, message] of widened) {
    const started = await startWithExtraGrant("mount-usb", (args) => {
      const at = args.findIndex((a) => a.startsWith(flag));
      args[at] = `${args[at]},${extra}`;
    });
    assert.equal(started.code, 3, `${flag}${extra}: ${started.stderr}`);
    assert.match(started.stderr, message);
  }
});

Deno.test("fence: tear-down", async () => {
  await fakes.remove();
  await Deno.remove(stateDir, { recursive: true });
  await Deno.remove(mountDir, { recursive: true });
});
