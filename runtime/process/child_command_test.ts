import assert from "node:assert/strict";
import { findOp } from "../../ops/mod.ts";
import type { AnyOp } from "../../ops/types.ts";
import { RootfenceError } from "../errors.ts";
import { buildChildCommand, type ChildCommandOptions } from "./child_command.ts";

const options: ChildCommandOptions = {
  denoPath: "/opt/deno/deno",
  entryPath: "/opt/rootfence/dist/child.js",
  binaries: {
    pct: "/usr/sbin/pct",
    mount: "/usr/bin/mount",
    findmnt: "/usr/bin/findmnt",
    mkdir: "/usr/bin/mkdir",
    smartctl: "/usr/sbin/smartctl",
    sensors: "/usr/bin/sensors",
  },
  settings: { mountBase: "/mnt/usb" },
  runner: "direct",
  sudoPath: "/usr/bin/sudo",
  binPath: "/usr/sbin:/usr/bin:/sbin:/bin",
};

const expectedRun: Record<string, string[]> = {
  "create-golden-lxc": ["/usr/sbin/pct"],
  "mount-usb": ["/usr/bin/mount", "/usr/bin/findmnt"],
  smart: ["/usr/sbin/smartctl"],
  sensors: ["/usr/bin/sensors"],
};

/** File grants: only mount-usb has any, exactly its mount base. */
const expectedFiles: Record<string, string[]> = {
  "mount-usb": ["--allow-read=/mnt/usb", "--allow-write=/mnt/usb"],
};

for (const [name, paths] of Object.entries(expectedRun)) {
  const grants = [`--allow-run=${paths.join(",")}`, ...expectedFiles[name] ?? []];
  Deno.test(`buildChildCommand() grants ${name} exactly ${grants.join(" ")}`, () => {
    const command = buildChildCommand(findOp(name)!, options);
    assert.equal(command.command, "/opt/deno/deno");
    assert.deepEqual(command.denoFlags, [
      "run",
      "--no-prompt",
      "--no-remote",
      "--no-npm",
      "--no-config",
      "--no-lock",
      "--no-code-cache",
      "--v8-flags=--max-semi-space-size=1,--max-old-space-size=64",
      ...grants,
    ]);
    assert.deepEqual(command.args.slice(command.denoFlags.length), [
      "/opt/rootfence/dist/child.js",
      `--op=${name}`,
      ...paths.map((path) => `--bin=${path.split("/").pop()}=${path}`),
      "--mount-base=/mnt/usb",
    ]);
    assert.deepEqual(command.args.filter((a) => /^--allow-|^-A$|^--unstable/.test(a)), grants);
  });
}

Deno.test("buildChildCommand() rebuilds the environment from a fixed list, with no usable cache", () => {
  const command = buildChildCommand(findOp("smart")!, options);
  assert.deepEqual(command.env, {
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
    LC_ALL: "C",
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    DENO_DIR: "/dev/null/deno",
    MALLOC_ARENA_MAX: "1",
  });
});

Deno.test("buildChildCommand() in sudo mode runs the same fenced command through sudo -n", () => {
  const direct = buildChildCommand(findOp("mount-usb")!, options);
  const sudo = buildChildCommand(findOp("mount-usb")!, { ...options, runner: "sudo" });
  assert.equal(sudo.command, "/usr/bin/sudo");
  assert.deepEqual(sudo.args, ["-n", "--", direct.command, ...direct.args]);
  assert.deepEqual(sudo.denoFlags, direct.denoFlags);
});

Deno.test("buildChildCommand() refuses an op whose binary was not found", () => {
  assert.throws(
    () => buildChildCommand(findOp("create-golden-lxc")!, { ...options, binaries: {} }),
    (error: unknown) => error instanceof RootfenceError && error.code === "binary_not_found",
  );
});

const rogue = (permissions: unknown): AnyOp => ({ ...findOp("sensors")!, permissions } as AnyOp);

Deno.test("buildChildCommand() refuses any grant outside the global fence", () => {
  const cases: unknown[] = [
    { run: ["sh"] },
    { run: ["sensors", "sudo"] },
    { run: ["sensors"], net: ["127.0.0.1"] },
    { run: ["sensors"], read: true },
    { run: ["sensors"], all: true },
    { run: true },
    { run: [] },
    { run: ["sensors", "sensors"] },
  ];
  for (const permissions of cases) {
    assert.throws(
      () => buildChildCommand(rogue(permissions), options),
      (error: unknown) => error instanceof RootfenceError && error.code === "denied",
      JSON.stringify(permissions),
    );
  }
});

const withPaths = (
  paths: unknown,
): AnyOp => ({ ...findOp("mount-usb")!, paths: () => paths } as AnyOp);

Deno.test("buildChildCommand() refuses declared paths that are not safe to grant", () => {
  const cases: unknown[] = [
    { read: ["/"], write: [] },
    { read: ["/mnt/usb"], write: ["/etc"] },
    { read: ["/mnt"], write: ["/mnt"] },
    { read: ["/mnt/usb/../etc"], write: [] },
    { read: ["/mnt/usb/"], write: [] },
    { read: ["mnt/usb"], write: [] },
    { read: ["/mnt/usb,/etc"], write: [] },
    { read: ["/mnt/usb/a\u0000"], write: [] },
    { read: ["/mnt/usb/a"], write: ["/mnt/usb"] },
    { read: ["/mnt/usb", "/mnt/usb"], write: [] },
    { read: "/mnt/usb", write: [] },
  ];
  for (const paths of cases) {
    assert.throws(
      () => buildChildCommand(withPaths(paths), options),
      (error: unknown) => error instanceof RootfenceError && error.code === "denied",
      JSON.stringify(paths),
    );
  }
});
