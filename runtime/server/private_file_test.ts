import assert from "node:assert/strict";
import { writePrivateFile } from "./private_file.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-private-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writePrivateFile() replaces the file it read with a new 0600 one, leaving no temp", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/keys.json`;
    await Deno.writeTextFile(path, "old", { mode: 0o644 });
    const old = await Deno.lstat(path);
    await writePrivateFile(path, bytes("new"), { replaces: old });
    assert.equal(await Deno.readTextFile(path), "new");
    const info = await Deno.lstat(path);
    assert.notEqual(info.ino, old.ino);
    assert.equal(info.mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["keys.json"]);
  });
});

Deno.test("writePrivateFile() refuses to replace a file that changed since it was read", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/keys.json`;
    await Deno.writeTextFile(path, "read");
    const read = await Deno.lstat(path);
    // Another edit lands in between (a new inode, as every edit writes).
    await Deno.remove(path);
    await Deno.writeTextFile(path, "someone else's edit");
    await assert.rejects(
      writePrivateFile(path, bytes("mine"), { replaces: read }),
      Deno.errors.AlreadyExists,
    );
    assert.equal(await Deno.readTextFile(path), "someone else's edit");
    await Deno.remove(path);
    await assert.rejects(
      writePrivateFile(path, bytes("mine"), { replaces: read }),
      Deno.errors.AlreadyExists,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("writePrivateFile() refuses a symlink planted since the read and leaves its target", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/keys.json`;
    await Deno.writeTextFile(path, "read");
    const read = await Deno.lstat(path);
    await Deno.writeTextFile(`${dir}/target`, "target");
    await Deno.remove(path);
    await Deno.symlink(`${dir}/target`, path);
    await assert.rejects(
      writePrivateFile(path, bytes("new"), { replaces: read }),
      Deno.errors.AlreadyExists,
    );
    assert.equal((await Deno.lstat(path)).isSymlink, true);
    assert.equal(await Deno.readTextFile(`${dir}/target`), "target");
  });
});

Deno.test({
  name: "writePrivateFile() keeps the replaced file's owner, so root's edit stays the service's",
  ignore: Deno.uid() !== 0,
  async fn() {
    await withDir(async (dir) => {
      const path = `${dir}/keys.json`;
      await Deno.writeTextFile(path, "old", { mode: 0o600 });
      await Deno.chown(path, 65534, 65534);
      await writePrivateFile(path, bytes("new"), { replaces: await Deno.lstat(path) });
      const info = await Deno.lstat(path);
      assert.deepEqual([info.uid, info.gid], [65534, 65534]);
    });
  },
});
