import assert from "node:assert/strict";
import { z } from "zod";
import { decodeFlags, encodeFlags, jsonFlag, kebab, wholeFlag } from "./flag_codec.ts";

const Flags = z.object({
  stateDir: z.string(),
  graceMs: wholeFlag(0, 3_600_000),
  socketGroup: wholeFlag().optional(),
  tags: z.array(z.string()).default([]),
  problems: jsonFlag(z.record(z.string(), z.array(z.string()))).default({}),
  stopWithStdin: z.boolean().default(false),
});
const kinds = { tags: "multiple", stopWithStdin: "boolean" } as const;

Deno.test("kebab() names a field's flag", () => {
  for (
    const [name, flag] of [["stateDir", "state-dir"], ["poolIdleMs", "pool-idle-ms"], ["op", "op"]]
  ) {
    assert.equal(kebab(name!), flag);
  }
});

Deno.test("encodeFlags() writes text and numbers with =, true bare, and leaves out the rest", () => {
  const value = { stateDir: "/var/lib/rf", graceMs: 0, socketGroup: undefined, off: false };
  assert.deepEqual(
    encodeFlags({ ...value, stopWithStdin: true }, [
      "stateDir",
      "graceMs",
      "socketGroup",
      "off",
      "stopWithStdin",
    ]),
    ["--state-dir=/var/lib/rf", "--grace-ms=0", "--stop-with-stdin"],
  );
});

Deno.test("decodeFlags() reads every field's flag into a typed value", () => {
  const { value, flags } = decodeFlags(Flags, [
    "--state-dir=/var/lib/rf",
    "--grace-ms=30000",
    "--tags=a",
    "--tags=b",
    '--problems={"/mnt/usb":["world-writable"]}',
    "--stop-with-stdin",
  ], { kinds });
  assert.deepEqual(value, {
    stateDir: "/var/lib/rf",
    graceMs: 30000,
    tags: ["a", "b"],
    problems: { "/mnt/usb": ["world-writable"] },
    stopWithStdin: true,
  });
  assert.equal(flags["state-dir"], "/var/lib/rf");
});

Deno.test("decodeFlags() fills defaults for flags left out", () => {
  const { value } = decodeFlags(Flags, ["--state-dir=/x", "--grace-ms=1"], { kinds });
  assert.deepEqual(value, {
    stateDir: "/x",
    graceMs: 1,
    tags: [],
    problems: {},
    stopWithStdin: false,
  });
});

Deno.test("decodeFlags() refuses a value its schema refuses, naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--state-dir=/x"], /^Cannot read --grace-ms: /],
    [["--state-dir=/x", "--grace-ms=30s"], /^Cannot read --grace-ms: Not a whole number/],
    [["--state-dir=/x", "--grace-ms="], /^Cannot read --grace-ms: /],
    [["--state-dir=/x", "--grace-ms=3600001"], /^Cannot read --grace-ms: /],
    [["--state-dir=/x", "--grace-ms=1", "--socket-group=-1"], /^Cannot read --socket-group: /],
    [["--state-dir=/x", "--grace-ms=1", "--problems=["], /^Cannot read --problems: Not JSON/],
    [["--state-dir=/x", "--grace-ms=1", '--problems={"a":1}'], /^Cannot read --problems: /],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => decodeFlags(Flags, argv, { kinds }), (error: unknown) => {
      assert.ok(error instanceof RangeError, String(error));
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("decodeFlags() refuses a flag outside the schema and its extra flags", () => {
  assert.throws(
    () => decodeFlags(Flags, ["--state-dir=/x", "--grace-ms=1", "--bogus=1"], { kinds }),
    (error: unknown) => error instanceof TypeError && "code" in error,
  );
  const { flags } = decodeFlags(Flags, ["--state-dir=/x", "--grace-ms=1", "--mount-base=/m"], {
    kinds,
    extra: { "mount-base": { type: "string" } },
  });
  assert.equal(flags["mount-base"], "/m");
});

Deno.test("decodeFlags() reads back what encodeFlags() writes", () => {
  const value = { stateDir: "/var/lib/rf", graceMs: 5, socketGroup: 997, stopWithStdin: true };
  const argv = encodeFlags(value, ["stateDir", "graceMs", "socketGroup", "stopWithStdin"]);
  assert.deepEqual(decodeFlags(Flags, argv, { kinds }).value, {
    ...value,
    tags: [],
    problems: {},
  });
});
