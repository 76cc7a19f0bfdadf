/**
 * A fifth op with its own setting, its own table and its own error codes, declared in one file
 * (`_toy_op.ts`) without touching the runtime: it gets a flag and an environment variable, its
 * setting reaches its fenced child through the real launcher, and its result and error code come
 * back as they would for a registered op.
 */
import assert from "node:assert/strict";
import { ERROR_CODES, errorCodes, OPS } from "../ops/mod.ts";
import type { AnyOp } from "../ops/types.ts";
import { bundle } from "../runtime/child/bundle.ts";
import { fenceProblems } from "../runtime/process/fence.ts";
import { defaultDenoDir } from "../runtime/process/host_paths.ts";
import { Launcher } from "../runtime/process/launcher.ts";
import { projectPath } from "../runtime/paths.ts";
import {
  resolveSettings,
  SettingError,
  settingFlags,
  settingsFromFlags,
} from "../runtime/settings.ts";
import { fakeBin } from "./_fakes.ts";
import { fanCheck } from "./_toy_op.ts";

const toy = fanCheck as AnyOp;
const ops = [...OPS, toy];

Deno.test("a new op's setting gets a flag, an environment variable and its op's validation", () => {
  const flag = settingFlags(ops).find((f) => f.op === "fan-check");
  assert.deepEqual(
    flag && { flag: flag.flag, env: flag.env, arg: flag.arg, fallback: flag.fallback },
    { flag: "fan-limit-rpm", env: "ROOTFENCE_FAN_LIMIT_RPM", arg: "rpm", fallback: "3000" },
  );
  assert.deepEqual(settingsFromFlags(ops, {}), { mountBase: "/mnt/usb", fanLimitRpm: 3000 });
  assert.equal(settingsFromFlags(ops, { "fan-limit-rpm": "1500" }).fanLimitRpm, 1500);
  const env = (name: string) => name === "ROOTFENCE_FAN_LIMIT_RPM" ? "2500" : undefined;
  assert.equal(settingsFromFlags(ops, {}, { env }).fanLimitRpm, 2500);
  assert.throws(
    () => settingsFromFlags(ops, { "fan-limit-rpm": "fast" }),
    (error: unknown) => error instanceof SettingError && error.flag === "fan-limit-rpm",
  );
  // The registry is untouched: production knows nothing of the toy's setting.
  assert.deepEqual(resolveSettings(OPS), { mountBase: "/mnt/usb" });
});

Deno.test("a new op's error codes join the runtime's, and only where it is served", () => {
  const codes = errorCodes(ops);
  for (const code of ["timeout", "invalid_input", "fan_not_found", "fan_too_fast"]) {
    assert.ok(codes.includes(code), code);
  }
  assert.ok(!ERROR_CODES.includes("fan_too_fast"));
  assert.deepEqual(fenceProblems(toy, resolveSettings(ops)), []);
});

Deno.test("a new op runs through the real launcher: its setting, table and error code", async () => {
  const fakes = await fakeBin();
  const dir = await Deno.makeTempDir({ prefix: "rootfence-toy-" });
  try {
    await fakes.write("sensors", `printf '{"fan1": 900, "fan2": 4200}'`);
    // Bundled like dist/child.js: the child runs sealed, from one file, whatever it serves.
    const entryPath = `${dir}/child.js`;
    const child = {
      bundle: entryPath,
      source: projectPath("tests/_toy_child.ts"),
      config: projectPath("runtime/process/fence.json"),
      lock: projectPath("runtime/process/fence.lock"),
    };
    const denoDir = defaultDenoDir();
    await bundle(child, entryPath, denoDir === undefined ? {} : { denoDir });
    const launcher = await Launcher.create({
      ops,
      entryPath,
      binPath: fakes.dir,
      settings: { fanLimitRpm: 1500 },
    });

    // Every setting reaches the child through the one channel, as flags its op validates again.
    const args = launcher.childCommand(toy).args;
    assert.deepEqual(args.slice(-2), ["--mount-base=/mnt/usb", "--fan-limit-rpm=1500"]);
    assert.deepEqual(args.filter((a) => a.startsWith("--allow-")), [
      `--allow-run=${fakes.dir}/sensors`,
    ]);

    const slow = await launcher.invoke(toy, { fan: "fan1" });
    assert.equal(slow.ok, true, JSON.stringify(slow));
    assert.deepEqual(slow.result, { fan: "fan1", rpm: 900, limitRpm: 1500 });
    assert.equal(toy.render?.(slow.result), "FAN   RPM   LIMIT\nfan1  900   1500");

    const fast = await launcher.invoke(toy, { fan: "fan2" });
    assert.equal(fast.error?.code, "fan_too_fast", JSON.stringify(fast));
    assert.match(String(fast.error?.message), /4200 RPM is above the limit of 1500 RPM/);
    assert.equal((await launcher.invoke(toy, { fan: "fan9" })).error?.code, "fan_not_found");

    // The host setting bounds what a caller may ask for.
    const over = await launcher.invoke(toy, { fan: "fan1", limitRpm: 2000 });
    assert.equal(over.error?.code, "invalid_input");
    assert.equal((await fakes.calls("sensors")).length, 3, "the refused input ran nothing");
  } finally {
    await fakes.remove();
    await Deno.remove(dir, { recursive: true });
  }
});
