import assert from "node:assert/strict";
import { findOp } from "../../ops/mod.ts";
import { ChildHost, HostError, withinOneLevel } from "./host.ts";
import { HOST_ENV, runHostCommand } from "./host_command.ts";

Deno.test("withinOneLevel() allows a declared path and names directly inside it, nothing deeper", () => {
  const roots = ["/mnt/usb"];
  for (const ok of ["/mnt/usb", "/mnt/usb/a", "/mnt/usb/x.y"]) {
    assert.equal(withinOneLevel(ok, roots), true, ok);
  }
  for (
    const bad of ["/mnt", "/mnt/usbx", "/mnt/usb/a/esc", "/mnt/usb/../etc", "/mnt/usb/", "/", ""]
  ) {
    assert.equal(withinOneLevel(bad, roots), false, bad);
  }
});

Deno.test("ChildHost refuses paths beyond its op's declared ones and binaries beyond its own", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    const host = new ChildHost(findOp("mount-usb")!, new Map(), { read: [dir], write: [dir] });
    await Deno.symlink("/", `${dir}/esc`);
    await assert.rejects(
      () => host.mkdir(`${dir}/esc/tmp-x`, 0o755),
      (e: unknown) => e instanceof HostError && e.code === "denied",
    );
    await assert.rejects(() => host.lstat("/etc"), HostError);
    await assert.rejects(() => host.rmdir(`${dir}/esc`), /not a directory/);
    await assert.rejects(() => host.run({ binary: "pct", args: [] }), /not granted/);
    await host.mkdir(`${dir}/t`, 0o750);
    assert.equal((await host.lstat(`${dir}/t`))?.mode, 0o750);
    assert.equal((await host.lstat(`${dir}/esc`))?.kind, "symlink");
    assert.equal(await host.lstat(`${dir}/none`), undefined);
    await host.rmdir(`${dir}/t`);
    assert.equal(await host.lstat(`${dir}/t`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ChildHost.run() kills a command that outlives its timeout and says so", async () => {
  // /bin/sleep stands in for a smartctl stuck on a dying disk.
  const host = new ChildHost(findOp("smart")!, new Map([["smartctl", "/bin/sleep"]]), {
    read: [],
    write: [],
  });
  const started = performance.now();
  const stuck = await host.run({ binary: "smartctl", args: ["30"] }, { timeoutMs: 200 });
  assert.ok(performance.now() - started < 10_000);
  assert.equal(stuck.signal, "SIGKILL");
  assert.equal(stuck.timedOut, true);
  const quick = await host.run({ binary: "smartctl", args: ["0"] }, { timeoutMs: 10_000 });
  assert.deepEqual([quick.exitCode, quick.timedOut], [0, undefined]);
  await assert.rejects(
    () => host.run({ binary: "smartctl", args: ["0"] }, { timeoutMs: 0 }),
    RangeError,
  );
});

Deno.test("runHostCommand gives a real command LC_ALL and PATH alone, never the child's own environment", async () => {
  // The child's own variables (MALLOC_ARENA_MAX, DENO_DIR) and anything else it was given must
  // stop at the child: the host command runs as root with a fixed environment.
  const given = { MALLOC_ARENA_MAX: "1", DENO_DIR: "/dev/null/deno", ROOTFENCE_SECRET: "s3cret" };
  const before = Object.fromEntries(Object.keys(given).map((k) => [k, Deno.env.get(k)]));
  for (const [name, value] of Object.entries(given)) Deno.env.set(name, value);
  try {
    const { output } = await runHostCommand("/usr/bin/env", []);
    assert.equal(output.exitCode, 0);
    const seen = output.stdout.trim().split("\n").sort();
    assert.deepEqual(seen, Object.entries(HOST_ENV).map(([k, v]) => `${k}=${v}`).sort());
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
});
