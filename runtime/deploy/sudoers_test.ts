import assert from "node:assert/strict";
import { OPS } from "../../ops/mod.ts";
import { buildChildCommand } from "../process/child_command.ts";
import { sudoersArg, sudoersFile, type SudoersOptions } from "./sudoers.ts";

const options: SudoersOptions = {
  user: "rootfence",
  installDir: "/opt/rootfence",
  denoPath: "/usr/local/bin/deno",
  binaries: {
    pct: "/usr/sbin/pct",
    mount: "/usr/bin/mount",
    findmnt: "/usr/bin/findmnt",
    smartctl: "/usr/sbin/smartctl",
    sensors: "/usr/bin/sensors",
  },
  settings: { mountBase: "/mnt/usb" },
  binPath: "/usr/sbin:/usr/bin:/sbin:/bin",
  sudoPath: "/usr/bin/sudo",
};

function visudo(): string | undefined {
  for (const path of ["/usr/sbin/visudo", "/sbin/visudo"]) {
    try {
      Deno.statSync(path);
      return path;
    } catch {
      // next
    }
  }
  console.log("skip: visudo not installed (apt-get install sudo)");
  return undefined;
}

Deno.test({
  name: "the generated sudoers drop-in passes visudo -cf",
  ignore: visudo() === undefined,
  async fn() {
    const file = await Deno.makeTempFile({ suffix: ".sudoers" });
    try {
      await Deno.writeTextFile(file, sudoersFile(OPS, options));
      const output = await new Deno.Command(visudo()!, { args: ["-cf", file] }).output();
      const text = new TextDecoder().decode(output.stdout) +
        new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, text);
      assert.match(text, /parsed OK/);
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test("sudoers pins every argument of each op's fenced child, from the launcher's builder", () => {
  const text = sudoersFile(OPS, options);
  const aliases = text.split("\n").filter((l) =>
    l.startsWith("Cmnd_Alias ROOTFENCE_") && !l.includes("_OPS")
  );
  assert.equal(aliases.length, OPS.length);
  for (const [i, op] of OPS.entries()) {
    const command = buildChildCommand(op, {
      ...options,
      entryPath: "/opt/rootfence/dist/child.js",
      runner: "sudo",
    });
    const pinned = command.args.slice(2).map(sudoersArg).join(" ");
    assert.ok(aliases[i]!.endsWith(`= ${pinned}`), aliases[i]);
    assert.ok(!/[*?\[\]]/.test(aliases[i]!), "no wildcards");
  }
  assert.match(text, /^Defaults!ROOTFENCE_OPS env_reset, secure_path="[^"]+", runcwd=\/$/m);
  assert.match(text, /^rootfence ALL=\(root\) NOPASSWD: ROOTFENCE_OPS$/m);
  assert.equal(text.split("\n").filter((l) => /NOPASSWD/.test(l)).length, 1);
});

Deno.test("sudoersArg() escapes sudoers' specials and refuses spaces and wildcards", () => {
  assert.equal(sudoersArg("--allow-run=/a,/b"), "--allow-run\\=/a\\,/b");
  assert.equal(sudoersArg("--bin-path=/usr/sbin:/usr/bin"), "--bin-path\\=/usr/sbin\\:/usr/bin");
  for (const bad of ["a b", "*", "a?", "$(id)", "a\nb"]) {
    assert.throws(() => sudoersArg(bad), RangeError, bad);
  }
  assert.throws(() => sudoersFile(OPS, { ...options, user: "root ALL" }), RangeError);
});
