/**
 * The fence, for real: each op's exact child flags, with only the entry swapped for the probe,
 * must refuse network, files, env, sys, ffi, remote and computed imports, every other binary and
 * signals, and must allow the op's own binaries.
 */
import assert from "node:assert/strict";
import { OPS } from "../ops/mod.ts";
import { fakeBin } from "./_fakes.ts";
import { Launcher } from "../runtime/launcher.ts";
import { probeProblems, REFUSED_WITH, runProbe } from "../runtime/audit/probe.ts";

// pct cannot be installed off Proxmox: it is the one binary faked.
const fakes = await fakeBin();
await fakes.write("pct", "exit 0");
const stateDir = await Deno.makeTempDir({ prefix: "rootfence-state-" });
const launcher = await Launcher.create({ binPath: `${fakes.dir}:/usr/sbin:/usr/bin:/sbin:/bin` });

for (const op of OPS) {
  Deno.test(`fence: ${op.name} child refuses everything outside its set (NotCapable)`, async () => {
    const own = op.permissions.run.flatMap((name) => launcher.binaries[name] ?? []);
    if (own.length !== op.permissions.run.length) {
      console.log(`skip: ${op.permissions.run.join(",")} not installed`);
      return;
    }
    const others = Object.entries(launcher.binaries)
      .filter(([name]) => !(op.permissions.run as readonly string[]).includes(name))
      .map(([, path]) => path!);
    const attempts = await runProbe(launcher, op, [...own, ...others], [stateDir]);
    const byName = new Map(attempts.map((a) => [a.attempt, a]));
    assert.deepEqual(probeProblems(attempts, own, others, [stateDir]), []);
    // The judge above is shared with the audit; assert the key refusals here too.
    for (const attempt of Object.keys(REFUSED_WITH)) {
      assert.equal(byName.get(attempt)?.allowed, false, attempt);
    }
    assert.match(byName.get(`read ${stateDir}`)!.error, /^NotCapable: Requires read access/);
    assert.ok(others.length >= 3, "other ops' binaries were tried");
  });
}

Deno.test("fence: a child started with extra grants refuses to run", async () => {
  const op = OPS.find((o) => o.name === "sensors")!;
  const command = launcher.childCommand(op);
  const args = [...command.args];
  args.splice(command.denoFlags.length, 0, "--allow-env");
  const output = await new Deno.Command(command.command, {
    args,
    clearEnv: true,
    env: { ...command.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 3);
  assert.match(new TextDecoder().decode(output.stderr), /grants outside its fence: env/);
});

Deno.test("fence: tear-down", async () => {
  await fakes.remove();
  await Deno.remove(stateDir, { recursive: true });
});
