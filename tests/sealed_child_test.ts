/**
 * The child's code cannot be rewritten through a Deno cache: a poisoned copy of the cache runs
 * its injected code under the old loading flags (`--frozen` does not re-check cached npm files),
 * and changes nothing under the launcher's sealed flags, whatever DENO_DIR the caller had.
 */
import assert from "node:assert/strict";
import { findOp } from "../ops/mod.ts";
import { bundleChild, bundleProblem } from "../runtime/child/bundle.ts";
import { Launcher } from "../runtime/process/launcher.ts";
import { CHILD_BUNDLE, CHILD_SOURCE, projectPath } from "../runtime/paths.ts";
import { fakeBin } from "./_fakes.ts";

const MARK = "ROOTFENCE-POISONED";

function cacheDir(): string | undefined {
  const explicit = Deno.env.get("DENO_DIR");
  if (explicit) return explicit;
  const home = Deno.env.get("HOME");
  return home ? `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/deno` : undefined;
}

/** A copy of the cache's zod with one line added to a module every zod import loads. */
async function poisonedCache(): Promise<string | undefined> {
  const zod = `${cacheDir()}/npm/registry.npmjs.org/zod`;
  try {
    await Deno.stat(`${zod}/4.6.7/v4/core/core.js`);
  } catch {
    return undefined;
  }
  const dir = await Deno.makeTempDir({ prefix: "rootfence-poisoned-" });
  await Deno.mkdir(`${dir}/npm/registry.npmjs.org`, { recursive: true });
  const copy = await new Deno.Command("cp", {
    args: ["-a", zod, `${dir}/npm/registry.npmjs.org/zod`],
  }).output();
  assert.equal(copy.code, 0);
  const core = `${dir}/npm/registry.npmjs.org/zod/4.6.7/v4/core/core.js`;
  const code = await Deno.readTextFile(core);
  await Deno.writeTextFile(core, `console.error(${JSON.stringify(MARK)});\n${code}`);
  return dir;
}

async function run(command: string, args: string[], env: Record<string, string>) {
  const child = new Deno.Command(command, {
    args,
    clearEnv: true,
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ input: {} }) + "\n"));
  await writer.close();
  const output = await child.output();
  const text = new TextDecoder();
  return { stdout: text.decode(output.stdout), stderr: text.decode(output.stderr) };
}

Deno.test("dist/child.js is byte for byte a fresh build of the child's source", async () => {
  assert.equal(await bundleProblem(), undefined, "run: deno task bundle");
});

Deno.test("a poisoned Deno cache runs under the old flags and changes nothing in a sealed child", async () => {
  const poisoned = await poisonedCache();
  if (poisoned === undefined) {
    console.log(`skip: no cached zod 4.6.7 under ${cacheDir()} to copy`);
    return;
  }
  const fakes = await fakeBin();
  try {
    await fakes.write("sensors", "printf '{}'; exit 0");
    const launcher = await Launcher.create({ binPath: fakes.dir });
    const command = launcher.childCommand(findOp("sensors")!);
    const sensors = `${fakes.dir}/sensors`;
    const env = { ...command.env, DENO_DIR: poisoned };

    // The attack is real: the child's source under its former flags loads the poisoned zod.
    const before = await run(command.command, [
      "run",
      "--no-prompt",
      "--no-remote",
      "--frozen",
      `--config=${projectPath("runtime/process/fence.json")}`,
      `--lock=${projectPath("runtime/process/fence.lock")}`,
      `--allow-run=${sensors}`,
      CHILD_SOURCE,
      "--op=sensors",
      `--bin=sensors=${sensors}`,
      "--mount-base=/mnt/usb",
    ], env);
    assert.match(before.stderr, new RegExp(MARK), "the control run must load the poisoned zod");

    // The launcher never hands its own DENO_DIR on, and even a forced one changes nothing.
    assert.equal(command.env.DENO_DIR, "/dev/null/deno");
    assert.ok(command.args.includes(CHILD_BUNDLE));
    const sealed = await run(command.command, [...command.args], env);
    assert.doesNotMatch(sealed.stderr, new RegExp(MARK));
    assert.equal(JSON.parse(sealed.stdout).ok, true, sealed.stderr);
  } finally {
    await fakes.remove();
    await Deno.remove(poisoned, { recursive: true });
  }
});

Deno.test("a bundle built from a poisoned cache differs from the audited fresh build", async () => {
  const poisoned = await poisonedCache();
  if (poisoned === undefined) {
    console.log(`skip: no cached zod 4.6.7 under ${cacheDir()} to copy`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "rootfence-bundle-" });
  try {
    const out = `${dir}/child.js`;
    await bundleChild(out, { denoDir: poisoned });
    assert.match(await Deno.readTextFile(out), new RegExp(MARK));
    assert.match(await bundleProblem(out) ?? "", /differs from a fresh build/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(poisoned, { recursive: true });
  }
});
