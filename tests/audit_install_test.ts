/**
 * The install check against real attacks by a real (temporary) service user: an ACL, a symlink,
 * supplementary groups, and files of the pinned line owned by the user. Each test builds a small
 * root-owned install from the sudoers builder, performs one attack, and asserts that the check
 * refuses it with the exact problem line and that the check itself changed nothing.
 *
 * Needs root and useradd, groupadd, setfacl (package `acl`), setpriv and runuser; skips
 * otherwise. The user, its group and every file are removed even when a test fails.
 */
import assert from "node:assert/strict";
import { findOp } from "../ops/mod.ts";
import { sudoersArg, sudoersFile } from "../runtime/deploy/sudoers.ts";
import { checkInstall } from "../runtime/audit/install.ts";
import { pinnedPaths } from "../runtime/audit/pinned_paths.ts";
import { pinnedCommands } from "../runtime/audit/sudoers_commands.ts";
import type { CheckResult } from "../runtime/audit/types.ts";

const TOOLS = ["useradd", "userdel", "groupadd", "groupdel", "setfacl", "setpriv", "runuser"];

function which(name: string): string | undefined {
  for (const dir of ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // next
    }
  }
  return undefined;
}

function skipReason(): string | undefined {
  if (Deno.uid() !== 0) return "needs root (it creates a user and chowns files)";
  const missing = TOOLS.find((tool) => which(tool) === undefined);
  if (missing !== undefined) return `${missing} is not installed (apt-get install acl passwd)`;
  return undefined;
}

const skip = skipReason();
if (skip !== undefined) console.log(`skip: install check attacks: ${skip}`);

async function run(name: string, ...args: string[]): Promise<number> {
  const output = await new Deno.Command(which(name) ?? name, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return output.code;
}

async function must(name: string, ...args: string[]): Promise<void> {
  const code = await run(name, ...args);
  if (code !== 0) throw new Error(`${name} ${args.join(" ")} exited ${code}`);
}

/** A root-owned install whose one pinned line comes from the sudoers builder. */
interface Install {
  readonly root: string;
  readonly user: string;
  readonly group: string;
  readonly home: string;
  readonly installDir: string;
  readonly sudoers: string;
  readonly deno: string;
  readonly smartctl: string;
  readonly mountBase: string;
  readonly entry: string;
  /** A module the entry imports. */
  readonly helper: string;
  readonly denoDir: string;
}

async function createInstall(): Promise<Install> {
  const suffix = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  const user = `rfti${suffix}`;
  const group = `rftg${suffix}`;
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence-install-" }));
  await Deno.chmod(root, 0o755);
  const denoDir = await Deno.makeTempDir({ prefix: "rootfence-install-cache-" });
  const installDir = `${root}/opt/rf`;
  const install = {
    root,
    user,
    group,
    home: `/home/${user}`,
    installDir,
    sudoers: `${root}/etc/sudoers.d/rootfence`,
    deno: `${root}/bin/deno`,
    smartctl: `${root}/bin/smartctl`,
    mountBase: `${root}/mnt/usb`,
    denoDir,
  };
  for (const dir of ["opt/rf", "etc/sudoers.d", "bin", "mnt/usb"]) {
    await Deno.mkdir(`${root}/${dir}`, { recursive: true, mode: 0o755 });
  }
  // Copies, never run: the check must not execute the Deno binary it audits.
  await Deno.copyFile(which("true")!, install.deno);
  await Deno.copyFile(which("true")!, install.smartctl);
  const text = sudoersFile([findOp("smart")!], {
    user,
    installDir,
    denoPath: install.deno,
    binaries: { smartctl: install.smartctl },
    settings: { mountBase: install.mountBase },
    binPath: `${root}/bin`,
    sudoPath: "/usr/bin/sudo",
  });
  await Deno.writeTextFile(install.sudoers, text, { mode: 0o440 });
  // Whatever the builder pins (a bundle, or a module entry with a config and a lock), this
  // install has it: the entry imports one helper module beside it.
  const line = pinnedPaths(pinnedCommands(text).commands[0]!);
  const entry = line.entry!;
  const ext = entry.slice(entry.lastIndexOf("."));
  const helper = `${entry.slice(0, entry.lastIndexOf("/"))}/helper${ext}`;
  await Deno.mkdir(entry.slice(0, entry.lastIndexOf("/")), { recursive: true, mode: 0o755 });
  await Deno.writeTextFile(entry, `import "./helper${ext}";\n`);
  await Deno.writeTextFile(helper, "export {};\n");
  if (line.config !== undefined) await Deno.writeTextFile(line.config, "{}\n");
  if (line.lock !== undefined) await Deno.writeTextFile(line.lock, '{ "version": "5" }\n');
  await must("groupadd", group);
  await must("useradd", "--create-home", "--shell", "/usr/sbin/nologin", "-G", group, user);
  return { ...install, entry, helper };
}

async function removeInstall(install: Install): Promise<void> {
  await run("userdel", "-r", install.user);
  await run("groupdel", install.group);
  await Deno.remove(install.root, { recursive: true });
  await Deno.remove(install.denoDir, { recursive: true });
  assert.notEqual(await run("id", install.user), 0, `user ${install.user} still exists`);
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every path below `dirs` with its metadata, link target and content hash. */
async function snapshot(...dirs: string[]): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const visit = async (path: string) => {
    const info = await Deno.lstat(path);
    const at = [info.mtime?.getTime(), info.ctime?.getTime()].join("/");
    let what = `${info.mode} ${info.uid}:${info.gid} ${info.size} ${at}`;
    if (info.isSymlink) what += ` -> ${await Deno.readLink(path)}`;
    if (info.isFile) what += ` ${await sha256(path)}`;
    seen.set(path, what);
    if (info.isDirectory) {
      for await (const item of Deno.readDir(path)) await visit(`${path}/${item.name}`);
    }
  };
  for (const dir of dirs) await visit(dir);
  return seen;
}

/** Builds an install, lets `attack` change it, runs the check, and asserts nothing changed. */
async function attacked(
  attack: (install: Install) => Promise<void>,
  expect: (install: Install) => readonly string[],
  mountBase: (install: Install) => string = (install) => install.mountBase,
): Promise<void> {
  const install = await createInstall();
  try {
    await attack(install);
    const before = await snapshot(install.root, install.home);
    const check = await checkInstall({
      user: install.user,
      sudoersPath: install.sudoers,
      settings: { mountBase: mountBase(install) },
      denoDir: install.denoDir,
    });
    assert.deepEqual(await snapshot(install.root, install.home), before, "the check changed files");
    assert.equal(check.status, "fail", check.messages.join("\n"));
    assert.deepEqual(check.messages, expect(install));
  } finally {
    await removeInstall(install);
  }
}

/** Whether the user really may write `path`, asked through another tool than the check's. */
async function userMayWrite(install: Install, path: string): Promise<boolean> {
  return await run("runuser", "-u", install.user, "--", which("test")!, "-w", path) === 0;
}

Deno.test({
  name: "install check passes a clean root-owned install, checked as the service user",
  ignore: skip !== undefined,
  async fn() {
    const install = await createInstall();
    try {
      const check: CheckResult = await checkInstall({
        user: install.user,
        sudoersPath: install.sudoers,
        settings: { mountBase: install.mountBase },
        denoDir: install.denoDir,
      });
      assert.equal(check.status, "pass", check.messages.join("\n"));
      assert.match(
        check.messages[0]!,
        new RegExp(`none is a symlink, owned by ${install.user} \\(uid \\d+\\) or writable by it`),
      );
      // It walked the entry's import, not just what the line names.
      const evidence = check.evidence as { paths: number };
      assert.ok(evidence.paths >= 10, `${evidence.paths} paths`);
    } finally {
      await removeInstall(install);
    }
  },
});

Deno.test({
  name: "install check refuses a child module the service user may write through a POSIX ACL",
  ignore: skip !== undefined,
  fn: () =>
    attacked(async (install) => {
      await must("setfacl", "-m", `u:${install.user}:rw`, install.helper);
      // Mode bits alone say no: root owns it, and "other" may not write.
      assert.equal((await Deno.stat(install.helper)).mode! & 0o002, 0);
      assert.ok(await userMayWrite(install, install.helper), "the ACL lets the user write");
    }, (install) => [
      `${install.helper} is writable by ${install.user} (access check as the user: ACL or group)`,
    ]),
});

Deno.test({
  name: "install check follows a module entry's imports through its pinned config and lock",
  ignore: skip !== undefined,
  fn: () =>
    attacked(async (install) => {
      // The shape before the child was bundled: a TypeScript entry with a config and a lock.
      const dir = `${install.installDir}/runtime`;
      await Deno.mkdir(`${dir}/child`, { recursive: true, mode: 0o755 });
      await Deno.writeTextFile(`${dir}/fence.json`, '{ "imports": { "op": "./op.ts" } }\n');
      await Deno.writeTextFile(`${dir}/fence.lock`, '{ "version": "5" }\n');
      await Deno.writeTextFile(`${dir}/child/mod.ts`, 'import "op";\n');
      await Deno.writeTextFile(`${dir}/op.ts`, "export {};\n");
      const line = [
        install.deno,
        "run",
        "--no-prompt",
        "--no-remote",
        "--frozen",
        `--config=${dir}/fence.json`,
        `--lock=${dir}/fence.lock`,
        `--allow-run=${install.smartctl}`,
        `${dir}/child/mod.ts`,
        "--op=smart",
        `--bin=smartctl=${install.smartctl}`,
        `--mount-base=${install.mountBase}`,
      ];
      const [program, ...args] = line;
      await Deno.writeTextFile(
        install.sudoers,
        `Cmnd_Alias ROOTFENCE_SMART = ${program} ${args.map(sudoersArg).join(" ")}\n` +
          `${install.user} ALL=(root) NOPASSWD: ROOTFENCE_SMART\n`,
      );
      await must("setfacl", "-m", `u:${install.user}:rw`, `${dir}/op.ts`);
    }, (install) => [
      `${install.installDir}/runtime/op.ts is writable by ${install.user} ` +
      "(access check as the user: ACL or group)",
    ]),
});

Deno.test({
  name: "install check refuses a child module replaced by a symlink to a user-owned file",
  ignore: skip !== undefined,
  fn: () =>
    attacked(async (install) => {
      const evil = `${install.home}/evil${install.helper.slice(install.helper.lastIndexOf("."))}`;
      await Deno.writeTextFile(evil, "export {};\n");
      await must("chown", `${install.user}:`, evil);
      await Deno.remove(install.helper);
      await Deno.symlink(evil, install.helper);
      assert.ok(await userMayWrite(install, install.helper), "the user writes the target");
    }, (install) => [
      `${install.helper} is a symlink (to ${install.home}/evil${
        install.helper.slice(install.helper.lastIndexOf("."))
      })`,
    ]),
});

Deno.test({
  name: "install check refuses a pinned Deno binary owned by the service user",
  ignore: skip !== undefined,
  fn: () =>
    attacked(
      (install) => must("chown", `${install.user}:`, install.deno),
      (install) => [`${install.deno} is owned by ${install.user}`],
    ),
});

Deno.test({
  name: "install check refuses a mount base owned by the service user",
  ignore: skip !== undefined,
  fn: () =>
    attacked(
      (install) => must("chown", `${install.user}:`, install.mountBase),
      (install) => [`${install.mountBase} is owned by ${install.user}`],
    ),
});

Deno.test({
  name: "install check refuses a configured mount base the user could create in a sticky dir",
  ignore: skip !== undefined,
  fn: () =>
    attacked(
      async (install) => {
        await Deno.mkdir(`${install.root}/shared`);
        await Deno.chmod(`${install.root}/shared`, 0o1777);
      },
      (install) => [
        `${install.root}/shared is writable by ${install.user} (mode 1777: anyone may write it)`,
      ],
      (install) => `${install.root}/shared/usb`,
    ),
});

Deno.test({
  name: "install check refuses an op binary owned by the service user",
  ignore: skip !== undefined,
  fn: () =>
    attacked(
      (install) => must("chown", `${install.user}:`, install.smartctl),
      (install) => [`${install.smartctl} is owned by ${install.user}`],
    ),
});

Deno.test({
  name: "install check refuses an install dir writable through a supplementary group",
  ignore: skip !== undefined,
  fn: () =>
    attacked(async (install) => {
      await must("chgrp", install.group, install.installDir);
      await Deno.chmod(install.installDir, 0o775);
      assert.ok(await userMayWrite(install, install.installDir), "the group lets the user write");
    }, (install) => [
      `${install.installDir} is writable by ${install.user} (access check as the user: ACL or group)`,
      `${install.entry}: its imports are checked once the problems above are fixed`,
    ]),
});

Deno.test({
  name: "install check refuses an installed sudoers drop-in the service user may write",
  ignore: skip !== undefined,
  fn: () =>
    attacked(
      (install) => must("setfacl", "-m", `u:${install.user}:rw`, install.sudoers),
      (install) => [
        `${install.sudoers} is writable by ${install.user} (access check as the user: ACL or group)`,
      ],
    ),
});

Deno.test({
  name: "install check refuses a world-writable directory above the pinned Deno binary",
  ignore: skip !== undefined,
  fn: () =>
    attacked(
      (install) => Deno.chmod(`${install.root}/bin`, 0o777),
      (
        install,
      ) => [`${install.root}/bin is writable by ${install.user} (mode 0777: anyone may write it)`],
    ),
});

Deno.test("audit CLI refuses install options without a service user, or a relative path", async () => {
  // Imported here so that the attack tests above do not depend on every other check's modules.
  const { main } = await import("../runtime/audit/cli.ts");
  const errors: string[] = [];
  const error = console.error;
  console.error = (message: string) => errors.push(message.split("\n")[0]!);
  try {
    assert.equal(await main(["--install", "/opt/rf"]), 2);
    assert.equal(await main(["--service-user", "svc"]), 2);
    assert.equal(await main(["--service-user", "svc", "--install", "opt/rf"]), 2);
    assert.equal(
      await main(["--service-user", "svc", "--sudoers", "/etc/x", "--deno", "/usr/bin/deno"]),
      2,
    );
    assert.equal(await main(["--service-user", "svc", "--install", "/x", "--mount-base", "/"]), 2);
  } finally {
    console.error = error;
  }
  assert.deepEqual(errors.slice(0, 4), [
    "--install needs --service-user",
    "--service-user needs --install or --sudoers",
    '--install must be an absolute path, not "opt/rf"',
    "--deno pins the generated lines; an installed --sudoers already names its Deno",
  ]);
  assert.match(errors[4]!, /^--mount-base "\/": /);
});

Deno.test("install check refuses root or an unknown user as the service user", async () => {
  const unknown = await checkInstall({ user: "rfti-no-such-user", dir: "/opt/rf" });
  assert.deepEqual(unknown.messages, ['Cannot check as user "rfti-no-such-user": no such user']);
  const root = await checkInstall({ user: "root", dir: "/opt/rf" });
  assert.deepEqual(root.messages, ['service user "root" is root']);
  assert.equal(root.status, "fail");
});
