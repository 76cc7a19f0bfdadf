import assert from "node:assert/strict";
import { pinnedPaths } from "./pinned_paths.ts";

Deno.test("pinnedPaths() finds the Deno binary, config, lock, entry, grants and op binaries", () => {
  const found = pinnedPaths([
    "/usr/local/bin/deno",
    "run",
    "--no-prompt",
    "--config=/opt/rf/runtime/fence.json",
    "--lock=/opt/rf/runtime/fence.lock",
    "--allow-run=/usr/bin/mount,/usr/bin/findmnt",
    "--allow-read=/mnt/usb",
    "--allow-write=/mnt/usb",
    "/opt/rf/runtime/child/mod.ts",
    "--op=mount-usb",
    "--bin=mount=/usr/bin/mount",
    "--bin=findmnt=/usr/bin/findmnt",
    "--mount-base=/mnt/usb",
  ]);
  assert.deepEqual(found, {
    program: "/usr/local/bin/deno",
    entry: "/opt/rf/runtime/child/mod.ts",
    config: "/opt/rf/runtime/fence.json",
    lock: "/opt/rf/runtime/fence.lock",
    modules: ["/opt/rf/runtime/child/mod.ts"],
    files: [
      "/usr/local/bin/deno",
      "/opt/rf/runtime/fence.json",
      "/opt/rf/runtime/fence.lock",
      "/usr/bin/mount",
      "/usr/bin/findmnt",
      "/opt/rf/runtime/child/mod.ts",
    ],
    places: ["/mnt/usb"],
    problems: [],
  });
});

Deno.test("pinnedPaths() takes a bundle entry, a separate config value and colon lists", () => {
  const found = pinnedPaths([
    "/usr/bin/deno",
    "run",
    "--no-config",
    "-c",
    "/opt/rf/c.json",
    "/opt/rf/dist/child.js",
    "--bin-path=/usr/sbin:/usr/bin",
    "--import=/opt/rf/extra.mjs",
  ]);
  assert.equal(found.entry, "/opt/rf/dist/child.js");
  assert.equal(found.config, "/opt/rf/c.json");
  assert.deepEqual(found.modules, ["/opt/rf/dist/child.js", "/opt/rf/extra.mjs"]);
  assert.deepEqual(found.files, [
    "/usr/bin/deno",
    "/opt/rf/c.json",
    "/opt/rf/dist/child.js",
    "/usr/sbin",
    "/usr/bin",
    "/opt/rf/extra.mjs",
  ]);
});

Deno.test("pinnedPaths() refuses paths it cannot place", () => {
  const cases: [string, RegExp][] = [
    ["runtime/child/mod.ts", /"runtime\/child\/mod\.ts" names a relative path/],
    ["--config=./fence.json", /"--config=\.\/fence\.json" names a relative path/],
    ["/opt/rf/../x.ts", /names "\/opt\/rf\/\.\.\/x\.ts", which is not a normalised/],
    ["--lock=/opt//rf.lock", /which is not a normalised absolute path/],
  ];
  for (const [arg, problem] of cases) {
    const found = pinnedPaths(["/usr/bin/deno", "run", arg]).problems;
    assert.ok(found.some((p) => problem.test(p)), `${arg}: ${found.join("; ")}`);
  }
  assert.throws(() => pinnedPaths([]), RangeError);
});
