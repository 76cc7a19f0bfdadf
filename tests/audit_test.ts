/**
 * The audit against deliberately broken inputs: each must make it fail with a clear message.
 * The passing audit on the real project runs in CI (`.ci/run`), and once here too.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { findOp, OPS } from "../ops/mod.ts";
import { FS_TYPES, FS_UUID } from "../ops/mount_usb/mod.ts";
import type { AnyOp } from "../ops/types.ts";
import { runAudit } from "../runtime/audit/mod.ts";
import { checkState } from "../runtime/audit/state.ts";
import { checkSealed } from "../runtime/audit/sealed.ts";
import { CHILD } from "../runtime/paths.ts";
import type { Launcher } from "../runtime/process/launcher.ts";
import type { AuditReport } from "../runtime/audit/types.ts";
import { fakeBin } from "./_fakes.ts";

const fixture = (name: string) =>
  decodeURIComponent(new URL(`./audit_fixtures/${name}`, import.meta.url).pathname);

const fakes = await fakeBin();
await fakes.write("pct", "exit 0");
const binPath = `${fakes.dir}:/usr/sbin:/usr/bin:/sbin:/bin`;

function check(report: AuditReport, id: string) {
  const found = report.checks.find((c) => c.id === id);
  assert.ok(found, id);
  return found;
}

function failsWith(report: AuditReport, id: string, pattern: RegExp) {
  const found = check(report, id);
  assert.equal(found.status, "fail", `${id} should fail: ${found.messages.join("; ")}`);
  assert.ok(found.messages.some((m) => pattern.test(m)), found.messages.join("\n"));
  assert.equal(report.ok, false);
}

Deno.test("audit passes on the project itself, every check named", async () => {
  // Without smartmontools or lm-sensors, their binaries are stood in for, as on a CI runner.
  const report = await runAudit({ binPath, standIns: "missing" });
  const stood = Object.keys(report.standIns);
  if (stood.length > 0) console.log(`skip: real ${stood.join(", ")} not installed; stood in`);
  for (const c of report.checks) assert.notEqual(c.status, "fail", `${c.name}: ${c.messages}`);
  assert.deepEqual(report.checks.map((c) => c.id), [
    "declared-fence",
    "actual-flags",
    "import-graph",
    "live-probe",
    "argument-fence",
    "install",
    "sealed-code",
    "mount-base",
    "receiver-probe",
    "units",
    "state",
    "readme-drift",
    "key-scopes",
  ]);
  assert.equal(report.ok, true);
});

Deno.test("audit fails on an op that asks for --allow-net", async () => {
  const rogue = {
    ...OPS.find((o) => o.name === "sensors")!,
    name: "rogue",
    permissions: { run: ["mkdir"], net: ["0.0.0.0:443"] },
  } as unknown as AnyOp;
  const report = await runAudit({ binPath, ops: [...OPS, rogue], skipProbe: true });
  failsWith(report, "declared-fence", /rogue: grants "net", which the fence never allows/);
  failsWith(report, "actual-flags", /rogue \(direct\): the builder refused it/);
});

Deno.test("audit fails on an op importing hono into the child", async () => {
  const report = await runAudit({ binPath, childEntry: fixture("child_hono.ts"), skipProbe: true });
  failsWith(report, "import-graph", /child import "hono" in tests\/audit_fixtures\/hono_op\.ts/);
});

Deno.test("audit fails on a computed dynamic import in the child's graph", async () => {
  const report = await runAudit({
    binPath,
    childEntry: fixture("child_computed.ts"),
    skipProbe: true,
  });
  failsWith(
    report,
    "import-graph",
    /computed dynamic import in tests\/audit_fixtures\/child_computed\.ts at line 3/,
  );
});

Deno.test("audit fails on a launcher change that adds --allow-read", async () => {
  const widened = (flag: string) => ({
    binPath,
    skipProbe: true,
    childCommand(launcher: Launcher, op: AnyOp) {
      const command = launcher.childCommand(op);
      const at = command.args.indexOf(command.denoFlags.at(-1)!) + 1;
      return {
        ...command,
        args: [...command.args.slice(0, at), flag, ...command.args.slice(at)],
        denoFlags: [...command.denoFlags, flag],
      };
    },
  });
  failsWith(await runAudit(widened("--allow-read")), "actual-flags", /unscoped grant --allow-read/);
  failsWith(
    await runAudit(widened("--allow-read=/etc")),
    "actual-flags",
    /undeclared grant --allow-read=\/etc/,
  );
});

Deno.test("audit fails when the README's flags table drifts from the declared sets", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const drifted = await Deno.makeTempFile({ suffix: ".md" });
  try {
    await Deno.writeTextFile(
      drifted,
      readme.replace("`--allow-run=<sensors>`", "`--allow-run=<sensors>,<sh>`"),
    );
    const report = await runAudit({ binPath, readmePath: drifted, skipProbe: true });
    failsWith(report, "readme-drift", /differs from `deno task audit --markdown`/);
  } finally {
    await Deno.remove(drifted);
  }
});

Deno.test("audit fails when the mount base is reached through a symlink or writable", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence-base-" }));
  try {
    await Deno.chmod(dir, 0o755);
    await Deno.mkdir(`${dir}/usb`, { mode: 0o755 });
    await Deno.symlink(`${dir}/usb`, `${dir}/link`);
    const linked = await runAudit({
      binPath,
      settings: { mountBase: `${dir}/link` },
      skipProbe: true,
    });
    failsWith(linked, "mount-base", /^mount base: "[^"]*\/link" is a symlink$/);
    await Deno.chmod(`${dir}/usb`, 0o777);
    const open = await runAudit({
      binPath,
      settings: { mountBase: `${dir}/usb` },
      skipProbe: true,
    });
    failsWith(open, "mount-base", /"[^"]*\/usb" is writable by group or others \(mode 777\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit fails on a mount op whose targets may reach below another mount", async () => {
  // The schema before issue 9: up to four levels below the base, so <base>/a/esc passed.
  const rogue = {
    ...findOp("mount-usb")!,
    schema: () =>
      z.strictObject({
        uuid: z.string().regex(FS_UUID),
        target: z.string().regex(/^\/mnt\/usb(?:\/[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}){1,4}$/),
        fsType: z.enum(FS_TYPES),
        readOnly: z.boolean().optional(),
      }),
  } as unknown as AnyOp;
  const report = await runAudit({ binPath, ops: [rogue], skipProbe: true });
  failsWith(
    report,
    "argument-fence",
    /mount-usb\.target accepts path traversal: "\/mnt\/usb\/backup\/etc"/,
  );
});

Deno.test("audit fails on an op that may write outside the mount base", async () => {
  const rogue = {
    ...findOp("mount-usb")!,
    paths: () => ({ read: ["/etc"], write: ["/etc"] }),
  } as unknown as AnyOp;
  const report = await runAudit({ binPath, ops: [rogue], skipProbe: true });
  failsWith(report, "declared-fence", /write path "\/etc" is not inside the mount base/);
  failsWith(report, "mount-base", /write path "\/etc" is not inside the mount base/);
});

Deno.test("the state check fails when the state rules would trust a planted journal symlink", async () => {
  const trusting = () => Promise.resolve([]);
  const report = await checkState(undefined, trusting);
  assert.equal(report.status, "fail");
  assert.match(report.messages.join("\n"), /a journal\.db symlink in the state dir was trusted/);
  assert.equal((await checkState()).status, "pass");
});

Deno.test("the sealed-code check fails on an edited bundle, and on one that imports", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence-sealed-" }));
  try {
    await Deno.chmod(dir, 0o755);
    const edited = `${dir}/child.js`;
    const code = await Deno.readTextFile(CHILD.bundle);
    await Deno.writeTextFile(edited, code + "\nDeno.exit(0);\n");
    const stale = await checkSealed([{ what: CHILD, path: edited }]);
    assert.equal(stale.status, "fail");
    assert.match(stale.messages.join("\n"), /differs from a fresh build/);
    await Deno.writeTextFile(edited, `import "npm:zod@4.6.7";\n${code}`);
    const importing = await checkSealed([{ what: CHILD, path: edited }]);
    assert.match(importing.messages.join("\n"), /imports npm:zod@4\.6\.7/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit: tear-down", async () => {
  await fakes.remove();
});

Deno.test("audit --stand-in-missing on a machine without pct proves the fence and says so", async () => {
  // Defect: the audit failed on any machine without pct (every CI runner), so CI had to hand-make
  // a stand-in; a green run then looked like a host audit.
  const empty = await Deno.makeTempDir({ prefix: "rootfence-audit-nopct-" });
  try {
    const lxc = findOp("create-golden-lxc")!;
    const hostOnly = `${empty}:/usr/sbin:/usr/bin:/sbin:/bin`;
    const without = await runAudit({ binPath: hostOnly, ops: [lxc], skipProbe: true });
    assert.equal(check(without, "declared-fence").status, "fail");
    const report = await runAudit({
      binPath: hostOnly,
      ops: [lxc],
      skipProbe: true,
      standIns: "missing",
    });
    assert.deepEqual(Object.keys(report.standIns), ["pct"]);
    for (const c of report.checks) assert.notEqual(c.status, "fail", `${c.name}: ${c.messages}`);
    assert.match(check(report, "declared-fence").messages.join("\n"), /stand-ins-.*\/pct/);
    // The stand-in is gone after the run: nothing is left on the machine.
    await assert.rejects(Deno.lstat(report.standIns.pct!), Deno.errors.NotFound);
  } finally {
    await Deno.remove(empty);
  }
});
