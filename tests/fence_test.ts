/**
 * The fence, for real: each op's exact child flags, with only the entry swapped for the probe,
 * must refuse network, files, env, sys, ffi, remote and computed imports, every other binary and
 * signals, and must allow the op's own binaries.
 */
import assert from "node:assert/strict";
import { OPS } from "../ops/mod.ts";
import { type FakeBin, fakeBin } from "./_fakes.ts";
import { Launcher, PROBE_ENTRY } from "../runtime/launcher.ts";
import type { ProbeAttempt } from "../runtime/probe.ts";

const REFUSED_WITH: Record<string, RegExp> = {
  "fetch http://127.0.0.1:58787/": /^NotCapable: Requires net access/,
  "Deno.listen 127.0.0.1:0": /^NotCapable: Requires net access/,
  "Deno.connect 127.0.0.1:9": /^NotCapable: Requires net access/,
  "import(https://esm.sh/zod@4.6.7)": /--no-remote is specified/,
  "import(computed npm specifier)": /lockfile is out of date/,
  "read /etc/passwd": /^NotCapable: Requires read access/,
  "write /tmp/rootfence-probe": /^NotCapable: Requires write access/,
  "env HOME": /^NotCapable: Requires env access/,
  "Deno.osRelease()": /^NotCapable: Requires sys access/,
  "Deno.dlopen libc.so.6": /^NotCapable: Requires ffi access/,
  "Deno.kill 1 SIGCONT": /^NotCapable: Requires run access/,
  "run /bin/sh": /^NotCapable: Requires run access/,
};

async function probe(
  launcher: Launcher,
  opName: string,
  input: unknown,
): Promise<ProbeAttempt[]> {
  const op = OPS.find((o) => o.name === opName)!;
  const command = launcher.childCommand(op, PROBE_ENTRY);
  const child = new Deno.Command(command.command, {
    args: [...command.args],
    clearEnv: true,
    env: { ...command.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ input })));
  await writer.close();
  const output = await child.output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(text).attempts;
}

let fakes: FakeBin;
let launcher: Launcher;
let stateDir: string;

Deno.test({
  name: "fence: set-up with a fake pct (the one binary that cannot be installed here)",
  async fn() {
    fakes = await fakeBin();
    await fakes.write("pct", "exit 0");
    stateDir = await Deno.makeTempDir({ prefix: "rootfence-state-" });
    launcher = await Launcher.create({ binPath: `${fakes.dir}:/usr/sbin:/usr/bin:/sbin:/bin` });
  },
});

for (const op of OPS) {
  Deno.test(`fence: ${op.name} child refuses everything outside its set (NotCapable)`, async () => {
    const own = op.permissions.run.map((name) => launcher.binaries[name]);
    if (own.some((path) => path === undefined)) {
      console.log(`skip: ${op.permissions.run.join(",")} not installed`);
      return;
    }
    const others = Object.entries(launcher.binaries)
      .filter(([name]) => !(op.permissions.run as readonly string[]).includes(name))
      .map(([, path]) => path!);
    const attempts = await probe(launcher, op.name, {
      tryRun: [...own, ...others],
      tryRead: [stateDir],
    });
    const byName = new Map(attempts.map((a) => [a.attempt, a]));
    for (const [attempt, pattern] of Object.entries(REFUSED_WITH)) {
      const result = byName.get(attempt);
      assert.ok(result, `probe did not try ${attempt}`);
      assert.equal(result.allowed, false, `${attempt} was allowed`);
      assert.match(result.error, pattern, attempt);
    }
    assert.match(byName.get(`read ${stateDir}`)!.error, /^NotCapable: Requires read access/);
    for (const path of own) {
      assert.equal(byName.get(`run ${path}`)?.allowed, true, `own binary ${path} refused`);
    }
    assert.ok(others.length >= 3, "other ops' binaries were tried");
    for (const path of others) {
      assert.match(byName.get(`run ${path}`)!.error, /^NotCapable: Requires run access/, path);
    }
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
