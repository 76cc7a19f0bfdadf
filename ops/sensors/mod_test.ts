import assert from "node:assert/strict";
import { fixtureDir, fixtureNames } from "../../tests/fixtures.ts";
import { sensors as op } from "./mod.ts";

const settings = { mountBase: "/mnt/usb" };
const dir = fixtureDir("sensors");
const read = (name: string) => Deno.readTextFileSync(`${dir}/${name}`);
const output = (stdout: string, stderr: string, exitCode: number) => ({
  exitCode,
  signal: null,
  stdout,
  stderr,
  stdoutTruncated: false,
  stderrTruncated: false,
});

Deno.test("argv() is sensors -j and takes no input", () => {
  const schema = op.schema(settings);
  assert.deepEqual(op.argv(schema.parse({}), settings), { binary: "sensors", args: ["-j"] });
  assert.equal(schema.safeParse({ chip: "coretemp-isa-0000" }).success, false);
  assert.equal(schema.safeParse({ args: ["-f"] }).success, false);
});

Deno.test({
  name: "parse() reads every real valid sensors -j capture",
  ignore: dir === undefined,
  fn() {
    const names = fixtureNames(dir, /^sensors-j-.*\.json$/);
    assert.ok(names.length >= 3);
    for (const name of names) {
      const outcome = op.parse(output(read(name), "", 0), {});
      assert.equal(outcome.ok, true, name);
      if (outcome.ok) {
        assert.equal(outcome.value.noSensors, false, name);
        assert.ok(outcome.value.chips.length > 0, name);
      }
    }
  },
});

Deno.test({
  name: "parse() treats exit 1 with an empty document as no sensors (real capture)",
  ignore: dir === undefined,
  fn() {
    for (const run of ["no-sensors", "absent-chip"]) {
      const outcome = op.parse(
        output(
          read(`local-sensors-j-${run}.stdout.json`),
          read(`local-sensors-j-${run}.stderr.txt`),
          1,
        ),
        {},
      );
      assert.deepEqual(outcome, {
        ok: true,
        value: { chips: [], repairs: [], noSensors: true },
      }, run);
    }
  },
});

Deno.test({
  name: "parse() fails on lm-sensors usage errors and never reads stderr as data (real capture)",
  ignore: dir === undefined,
  fn() {
    const outcome = op.parse(
      output(
        read("local-sensors-j-bad-chip-name.stdout.txt"),
        read("local-sensors-j-bad-chip-name.stderr.txt"),
        1,
      ),
      {},
    );
    assert.equal(outcome.ok ? "ok" : outcome.code, "command_failed");
    assert.match(outcome.ok ? "" : outcome.message, /Parse error in chip name/);
  },
});
