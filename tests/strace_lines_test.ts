import assert from "node:assert/strict";
import { wholeCalls } from "./_syncs.ts";

Deno.test("wholeCalls() joins a call another thread interrupted, where it began (as strace -f printed it in CI)", () => {
  const lines = [
    `26149 write(18, "{\\n  \\"keys\\": [", 179) = 179`,
    "26149 fsync(18 <unfinished ...>",
    '26148 write(4, "\\1\\0\\0\\0\\0\\0\\0\\0", 8)   = 8',
    "26149 <... fsync resumed>)              = 0",
    '26148 linkat(AT_FDCWD, "/d/.k.tmp", AT_FDCWD, "/d/k", 0) = 0',
  ];
  assert.deepEqual(wholeCalls(lines), [
    lines[0],
    "26149 fsync(18)              = 0",
    lines[2],
    lines[4],
  ]);
});
