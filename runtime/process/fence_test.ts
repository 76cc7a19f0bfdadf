import assert from "node:assert/strict";
import { OPS } from "../../ops/mod.ts";
import { binPathDirs, fenceProblems, resolveBinaries } from "./fence.ts";

Deno.test("every registered op stays inside the global fence", () => {
  for (const op of OPS) assert.deepEqual(fenceProblems(op), [], op.name);
});

Deno.test("no two ops share a binary", () => {
  const all = OPS.flatMap((op) => op.permissions.run);
  assert.equal(new Set(all).size, all.length);
});

Deno.test("binPathDirs() refuses relative and empty entries", () => {
  assert.deepEqual(binPathDirs("/a:/b"), ["/a", "/b"]);
  for (const bad of ["bin:/usr/bin", "/usr/bin::/bin", ""]) {
    assert.throws(() => binPathDirs(bad), RangeError, bad);
  }
});

Deno.test("resolveBinaries() takes the first match and resolves symlinks to canonical paths", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.mkdir(`${dir}/first`);
    await Deno.mkdir(`${dir}/second`);
    await Deno.mkdir(`${dir}/real`);
    await Deno.writeTextFile(`${dir}/real/pct`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.symlink(`${dir}/real/pct`, `${dir}/first/pct`);
    await Deno.writeTextFile(`${dir}/second/pct`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/first/smartctl`, "not executable", { mode: 0o644 });
    const found = await resolveBinaries(`${dir}/first:${dir}/second`);
    assert.equal(found.pct, `${dir}/real/pct`);
    assert.equal(found.smartctl, undefined);
    assert.equal(found.mount, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every op's example input passes its own schema", () => {
  for (const op of OPS) {
    const result = op.schema({ mountBase: "/mnt/usb" }).safeParse(op.example);
    assert.equal(result.success, true, op.name);
  }
});
