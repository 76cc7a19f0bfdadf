import assert from "node:assert/strict";
import type { PathInfo } from "../../ops/types.ts";
import { lstatInfo, writeBaseProblems } from "./write_base.ts";

const DIR: PathInfo = { kind: "directory", uid: 0, mode: 0o755 };

function disk(overrides: Record<string, PathInfo | undefined | Error>) {
  const paths: Record<string, PathInfo | undefined | Error> = {
    "/": DIR,
    "/mnt": DIR,
    "/mnt/usb": DIR,
    ...overrides,
  };
  return (path: string) => {
    const found = paths[path];
    return found instanceof Error ? Promise.reject(found) : Promise.resolve(found);
  };
}

Deno.test("writeBaseProblems() accepts a real root-owned base below real root-owned dirs", async () => {
  assert.deepEqual(await writeBaseProblems("/mnt/usb", disk({})), []);
});

Deno.test("writeBaseProblems() accepts a missing base below a safe parent (created on use)", async () => {
  assert.deepEqual(await writeBaseProblems("/mnt/usb", disk({ "/mnt/usb": undefined })), []);
});

Deno.test("writeBaseProblems() accepts a sticky world-writable ancestor like /tmp", async () => {
  const lstat = disk({ "/mnt": { ...DIR, mode: 0o1777 } });
  assert.deepEqual(await writeBaseProblems("/mnt/usb", lstat), []);
});

const unsafe: [string, Record<string, PathInfo | undefined | Error>, RegExp][] = [
  [
    "a symlinked base",
    { "/mnt/usb": { kind: "symlink", uid: 0, mode: 0o777 } },
    /^"\/mnt\/usb" is a symlink$/,
  ],
  [
    "a symlinked ancestor",
    { "/mnt": { kind: "symlink", uid: 0, mode: 0o777 } },
    /^"\/mnt" is a symlink$/,
  ],
  [
    "a group-writable base",
    { "/mnt/usb": { ...DIR, mode: 0o775 } },
    /"\/mnt\/usb" is writable by group or others \(mode 775\)/,
  ],
  [
    "a sticky world-writable base",
    { "/mnt/usb": { ...DIR, mode: 0o1777 } },
    /"\/mnt\/usb" is writable/,
  ],
  ["a world-writable ancestor", { "/mnt": { ...DIR, mode: 0o777 } }, /"\/mnt" is writable/],
  ["a base owned by a user", { "/mnt/usb": { ...DIR, uid: 1000 } }, /owned by uid 1000, not root/],
  [
    "an ancestor owned by a user",
    { "/mnt": { ...DIR, uid: 1000 } },
    /"\/mnt" is owned by uid 1000/,
  ],
  ["a base that is a file", { "/mnt/usb": { kind: "file", uid: 0, mode: 0o644 } }, /is a file/],
  ["a missing ancestor", { "/mnt": undefined }, /^"\/mnt" does not exist$/],
  [
    "an ancestor it may not inspect",
    { "/mnt": new Error('Requires read access to "/mnt"') },
    /^"\/mnt" cannot be inspected: Requires read access/,
  ],
];

for (const [what, overrides, message] of unsafe) {
  Deno.test(`writeBaseProblems() refuses ${what}`, async () => {
    const problems = await writeBaseProblems("/mnt/usb", disk(overrides));
    assert.equal(problems.length, 1, problems.join("; "));
    assert.match(problems[0]!, message);
  });
}

Deno.test("writeBaseProblems() refuses a base that is not a normalised absolute path", async () => {
  for (const base of ["/", "mnt/usb", "/mnt/../etc", "/mnt/usb/"]) {
    assert.equal((await writeBaseProblems(base, disk({}))).length, 1, base);
  }
});

Deno.test("lstatInfo() does not follow a symlink and reports a missing path as undefined", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.symlink("/", `${dir}/link`);
    assert.equal((await lstatInfo(`${dir}/link`))?.kind, "symlink");
    assert.equal((await lstatInfo(dir))?.kind, "directory");
    assert.equal(await lstatInfo(`${dir}/none`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
