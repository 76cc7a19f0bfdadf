import assert from "node:assert/strict";
import { OPS } from "../../ops/mod.ts";
import type { ResolvedBinaries } from "../process/fence.ts";
import { sudoersFile } from "../deploy/sudoers.ts";
import { pinnedCommands } from "./sudoers_commands.ts";

Deno.test("pinnedCommands() reads back exactly the lines the sudoers builder pins", () => {
  const binaries: ResolvedBinaries = {
    pct: "/usr/sbin/pct",
    mkdir: "/usr/bin/mkdir",
    mount: "/usr/bin/mount",
    findmnt: "/usr/bin/findmnt",
    smartctl: "/usr/sbin/smartctl",
    sensors: "/usr/bin/sensors",
  };
  const options = {
    user: "rootfence",
    installDir: "/opt/rootfence",
    denoPath: "/usr/local/bin/deno",
    binaries,
    settings: { mountBase: "/mnt/usb" },
    binPath: "/usr/sbin:/usr/bin",
    sudoPath: "/usr/bin/sudo",
  };
  const { commands, problems } = pinnedCommands(sudoersFile(OPS, options));
  assert.deepEqual(problems, []);
  assert.equal(commands.length, OPS.length);
  for (const [i, op] of OPS.entries()) {
    const line = commands[i]!;
    assert.equal(line[0], "/usr/local/bin/deno");
    assert.ok(line.includes(`--op=${op.name}`), line.join(" "));
    assert.ok(line.includes("--mount-base=/mnt/usb"), line.join(" "));
    const grant = op.permissions.run.map((name) => binaries[name]).join(",");
    assert.ok(line.includes(`--allow-run=${grant}`), line.join(" "));
    assert.ok(line.every((arg) => !arg.includes("\\")), "nothing left escaped");
  }
});

Deno.test("pinnedCommands() unescapes sudoers specials and joins continuation lines", () => {
  const text = [
    "# a comment",
    "Cmnd_Alias A = /usr/bin/deno run --allow-run\\=/a\\,/b \\",
    "  --bin-path\\=/usr/sbin\\:/usr/bin /opt/x\\\\y.ts # trailing comment",
    'Cmd_Alias B = /usr/bin/b one, /usr/bin/c "" : C = /usr/bin/d two',
    "svc ALL=(root) NOPASSWD: A, B, C, /usr/bin/e --flag",
    'Defaults!A env_reset, secure_path="/usr/sbin:/usr/bin", runcwd=/',
  ].join("\n");
  assert.deepEqual(pinnedCommands(text), {
    commands: [
      [
        "/usr/bin/deno",
        "run",
        "--allow-run=/a,/b",
        "--bin-path=/usr/sbin:/usr/bin",
        "/opt/x\\y.ts",
      ],
      ["/usr/bin/b", "one"],
      ["/usr/bin/c"],
      ["/usr/bin/d", "two"],
      ["/usr/bin/e", "--flag"],
    ],
    problems: [],
  });
});

Deno.test("pinnedCommands() names every way a drop-in stops pinning a line", () => {
  const cases: [string, string][] = [
    ["svc ALL=(ALL) ALL", "sudoers: grants ALL, so no command line is pinned"],
    ["Cmnd_Alias A = /usr/bin/deno run /opt/*.ts", 'sudoers: "/usr/bin/deno" has a wildcard'],
    ["svc ALL=(root) NOPASSWD: /usr/bin/deno", "has no argument list, so any is allowed"],
    ["svc ALL=(root) SETENV: /usr/bin/x y", "SETENV lets the caller set"],
    ["Defaults!A env_keep += DENO_DIR", "lets the caller set the root command's environment"],
    ["Defaults!A !env_reset", "lets the caller set the root command's environment"],
    ["@includedir /etc/other", "pulls in another file"],
    ["svc ALL=(root) sudoedit /etc/x", 'cannot read "sudoedit /etc/x"'],
  ];
  for (const [text, problem] of cases) {
    const found = pinnedCommands(text).problems;
    assert.ok(found.some((p) => p.includes(problem)), `${text}: ${found.join("; ")}`);
  }
});
