import assert from "node:assert/strict";
import { RootfenceError } from "../errors.ts";
import { clientSecret } from "../keys_file.ts";
import { newSecret } from "../signing.ts";
import { createKeysFile, loadKeys, mayTrigger, secretFilesOf } from "./keys.ts";
import { STRACE, traceScript } from "../../tests/_syncs.ts";

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-keys-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function write(path: string, doc: unknown, mode = 0o600) {
  await Deno.writeTextFile(path, typeof doc === "string" ? doc : JSON.stringify(doc));
  await Deno.chmod(path, mode);
}

const refused = (code: string, pattern: RegExp) => (error: unknown) =>
  error instanceof RootfenceError && error.code === code && pattern.test(error.message);

Deno.test("loadKeys() reads secrets and secret files, with per-key op lists", async () => {
  await withDir(async (dir) => {
    await write(`${dir}/monitoring`, newSecret() + "\n");
    await write(`${dir}/keys.json`, {
      keys: [
        { id: "automation", secrets: [newSecret(), newSecret()], ops: ["*"] },
        { id: "monitoring", secretFiles: [`${dir}/monitoring`], ops: ["smart", "sensors"] },
      ],
    });
    const keyring = await loadKeys(`${dir}/keys.json`);
    assert.deepEqual(keyring.keys.map((k) => [k.id, k.secrets.length]), [
      ["automation", 2],
      ["monitoring", 1],
    ]);
    assert.deepEqual(keyring.files, [`${dir}/keys.json`, `${dir}/monitoring`]);
    const [automation, monitoring] = keyring.keys;
    assert.equal(mayTrigger(automation!, "create-golden-lxc"), true);
    assert.equal(mayTrigger(monitoring!, "mount-usb"), false);
    assert.equal(mayTrigger(monitoring!, "sensors"), true);
  });
});

Deno.test("loadKeys() refuses files readable or writable by group or others", async () => {
  await withDir(async (dir) => {
    const doc = { keys: [{ id: "a", secrets: [newSecret()], ops: ["*"] }] };
    for (const mode of [0o644, 0o620, 0o604, 0o640]) {
      await write(`${dir}/keys.json`, doc, mode);
      await assert.rejects(loadKeys(`${dir}/keys.json`), refused("denied", /chmod 600/));
    }
    await write(`${dir}/secret`, newSecret(), 0o644);
    await write(`${dir}/keys.json`, {
      keys: [{ id: "a", secretFiles: [`${dir}/secret`], ops: ["*"] }],
    });
    await assert.rejects(loadKeys(`${dir}/keys.json`), refused("denied", /secret file/));
  });
});

Deno.test("loadKeys() refuses malformed files, unknown ops, duplicate ids and bad secrets", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/keys.json`;
    const bad: [unknown, RegExp][] = [
      ["{not json", /not JSON/],
      [{ keys: [] }, /keys/],
      [{ keys: [{ id: "a", secrets: [newSecret()], ops: ["*"], extra: 1 }] }, /keys/],
      [{ keys: [{ id: "a", secrets: [newSecret()], ops: ["reboot"] }] }, /unknown ops reboot/],
      [{ keys: [{ id: "a", ops: ["*"] }] }, /no secret/],
      [{ keys: [{ id: "a", secrets: ["hunter2"], ops: ["*"] }] }, /whsec_/],
      [{ keys: [{ id: "a", secrets: ["whsec_c2hvcnQ="], ops: ["*"] }] }, /24 to 64 bytes/],
      [{
        keys: [
          { id: "a", secrets: [newSecret()], ops: ["*"] },
          { id: "a", secrets: [newSecret()], ops: ["*"] },
        ],
      }, /used twice/],
    ];
    for (const [doc, pattern] of bad) {
      await write(path, doc);
      await assert.rejects(loadKeys(path), refused("invalid_input", pattern), JSON.stringify(doc));
    }
  });
});

Deno.test("createKeysFile() writes one all-ops key with mode 0600 and never overwrites", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/keys.json`;
    assert.equal(await createKeysFile(path), "default");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const keyring = await loadKeys(path);
    assert.deepEqual(keyring.keys[0]!.ops, ["*"]);
    await assert.rejects(createKeysFile(path), Deno.errors.AlreadyExists);
    assert.match(await clientSecret(path), /^whsec_/);
    await write(`${dir}/one`, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
    assert.equal(await clientSecret(`${dir}/one`), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  });
});

const ROOT = Deno.uid() === 0;
if (!ROOT) console.log("keys_test: not root, skipping the test that chowns a keys file to nobody");

Deno.test("loadKeys() refuses a keys file or a secret file that is a symlink to a private file", async () => {
  await withDir(async (dir) => {
    await write(`${dir}/real.json`, { keys: [{ id: "a", secrets: [newSecret()], ops: ["*"] }] });
    await Deno.symlink(`${dir}/real.json`, `${dir}/keys.json`);
    await assert.rejects(
      loadKeys(`${dir}/keys.json`),
      refused("denied", /keys file ".*keys\.json": it is a symlink/),
    );
    await write(`${dir}/secret`, newSecret());
    await Deno.symlink(`${dir}/secret`, `${dir}/linked`);
    await write(`${dir}/direct.json`, {
      keys: [{ id: "a", secretFiles: [`${dir}/linked`], ops: ["*"] }],
    });
    await assert.rejects(
      loadKeys(`${dir}/direct.json`),
      refused("denied", /secret file ".*linked": it is a symlink/),
    );
  });
});

Deno.test("loadKeys() refuses keys and secret files the running user does not own", async () => {
  await withDir(async (dir) => {
    const owner = Deno.uid()!;
    await write(`${dir}/secret`, newSecret());
    await write(`${dir}/keys.json`, {
      keys: [{ id: "a", secretFiles: [`${dir}/secret`], ops: ["*"] }],
    });
    await loadKeys(`${dir}/keys.json`, { uid: owner });
    await assert.rejects(
      loadKeys(`${dir}/keys.json`, { uid: owner + 1 }),
      refused("denied", new RegExp(`keys file .*owned by uid ${owner}, not by uid ${owner + 1}`)),
    );
  });
});

Deno.test({
  name: "loadKeys() refuses a 0600 keys file chowned to nobody, even as root",
  ignore: !ROOT,
  async fn() {
    await withDir(async (dir) => {
      await write(`${dir}/keys.json`, { keys: [{ id: "a", secrets: [newSecret()], ops: ["*"] }] });
      await Deno.chown(`${dir}/keys.json`, 65534, 65534);
      await assert.rejects(
        loadKeys(`${dir}/keys.json`),
        refused("denied", /owned by uid 65534, not by uid 0.*chown 0/),
      );
      await write(`${dir}/secret`, newSecret());
      await Deno.chown(`${dir}/secret`, 65534, 65534);
      await Deno.chown(`${dir}/keys.json`, 0, 0);
      await write(`${dir}/keys.json`, {
        keys: [{ id: "a", secretFiles: [`${dir}/secret`], ops: ["*"] }],
      });
      await assert.rejects(
        loadKeys(`${dir}/keys.json`),
        refused("denied", /secret file .*owned by uid 65534/),
      );
    });
  },
});

Deno.test('loadKeys() refuses a key that still says "github", saying the scheme was removed and why', async () => {
  await withDir(async (dir) => {
    for (const github of [true, false]) {
      await write(`${dir}/keys.json`, {
        keys: [{ id: "ci", secrets: [newSecret()], ops: ["smart"], github }],
      });
      await assert.rejects(loadKeys(`${dir}/keys.json`), (error) => {
        assert.ok(
          refused("invalid_input", /^Cannot use key "ci" in ".*": the "github" flag was removed/)(
            error,
          ),
        );
        assert.match((error as Error).message, /replayed/);
        assert.match((error as Error).message, /strict input schemas/);
        assert.doesNotMatch((error as Error).message, /\n/);
        return true;
      });
    }
  });
});

Deno.test({
  name:
    "createKeysFile() writes a temp file in the same dir and links it into place, leaving no temp",
  ignore: STRACE === undefined,
  fn: async () => {
    await withDir(async (dir) => {
      const path = `${dir}/keys.json`;
      // The calls themselves, in the order the kernel saw them: a file watcher drops events on a
      // busy machine (a flake seen in CI twice), strace does not. The trace goes in a dir of its
      // own, so `dir` holds only what createKeysFile() left.
      const traces = await Deno.makeTempDir({ prefix: "rootfence-keys-trace-" });
      const { lines } = await traceScript(
        `import { createKeysFile } from ${JSON.stringify(import.meta.resolve("./keys.ts"))};
        await createKeysFile(${JSON.stringify(path)});`,
        traces,
        "openat,write,fsync,linkat,link,unlink,unlinkat,rename,renameat,renameat2",
      ).finally(() => Deno.remove(traces, { recursive: true }));
      const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
      const temp = /"([^"]*\/\.keys\.json\.[0-9a-f-]{36}\.tmp)", O_WRONLY\|O_CREAT\|O_EXCL/
        .exec(lines.find((line) => line.includes("O_CREAT|O_EXCL")) ?? "")?.[1];
      assert.ok(temp?.startsWith(`${dir}/`), "a temp file made new, beside keys.json");
      const opened = at(/O_CREAT\|O_EXCL/);
      // Deno writes and syncs through a descriptor of its own for the file: the write is the one
      // that carries the document, the sync the one on that descriptor.
      const wrote = at(/ write\((\d+), "\{\\n {2}\\"keys\\"/);
      const fd = / write\((\d+),/.exec(lines[wrote] ?? "")?.[1];
      const synced = lines.findIndex((line, i) => i > wrote && line.includes(`fsync(${fd})`));
      const linked = at(new RegExp(`link(at)?\\(.*"${temp}".*"${path}"`));
      const removed = at(new RegExp(`unlink(at)?\\(.*"${temp}"`));
      const order = [opened, wrote, synced, linked, removed];
      assert.ok(order.every((i) => i >= 0), `${JSON.stringify(order)}\n${lines.join("\n")}`);
      assert.deepEqual([...order].sort((x, y) => x - y), order, lines.join("\n"));
      const renamed = lines.findIndex((line) => line.includes("rename") && line.includes(dir));
      assert.equal(renamed, -1, "never renamed over a file that may exist");
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["keys.json"]);
      const info = await Deno.lstat(path);
      assert.equal(info.nlink, 1);
      assert.equal(info.mode! & 0o777, 0o600);
      assert.equal((await loadKeys(path)).keys.length, 1);
    });
  },
});

Deno.test("createKeysFile() never truncates an existing file and never follows a planted symlink", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/keys.json`;
    await write(path, "operator's own keys");
    await assert.rejects(createKeysFile(path), Deno.errors.AlreadyExists);
    assert.equal(await Deno.readTextFile(path), "operator's own keys");
    await Deno.remove(path);
    await Deno.symlink(`${dir}/elsewhere`, path);
    await assert.rejects(createKeysFile(path), Deno.errors.AlreadyExists);
    await assert.rejects(Deno.lstat(`${dir}/elsewhere`), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["keys.json"]);
  });
});

Deno.test("secretFilesOf() opens no symlink, FIFO or missing file", async () => {
  await withDir(async (dir) => {
    await write(`${dir}/real.json`, {
      keys: [{ id: "a", secretFiles: ["/run/credentials/x"], ops: ["*"] }],
    });
    assert.deepEqual(await secretFilesOf(`${dir}/real.json`), ["/run/credentials/x"]);
    await Deno.symlink(`${dir}/real.json`, `${dir}/link.json`);
    assert.deepEqual(await secretFilesOf(`${dir}/link.json`), []);
    assert.deepEqual(await secretFilesOf(`${dir}/missing.json`), []);
    const fifo = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    if (fifo.success) assert.deepEqual(await secretFilesOf(`${dir}/fifo`), []);
  });
});

Deno.test("loadKeys() reads metrics tokens, inline and from private files, and lists the files", async () => {
  await withDir(async (dir) => {
    const inline = `rfm_${"a".repeat(43)}`;
    const fromFile = `rfm_${"b".repeat(43)}`;
    await write(`${dir}/prometheus.token`, `${fromFile}\n`, 0o400);
    const key = { id: "a", secrets: [newSecret()], ops: ["*"] };
    await write(`${dir}/keys.json`, {
      keys: [key],
      metrics: { tokens: [inline], tokenFiles: [`${dir}/prometheus.token`] },
    });
    const keyring = await loadKeys(`${dir}/keys.json`);
    assert.equal(keyring.metricsTokens?.size, 2);
    assert.equal(keyring.metricsTokens?.accepts(inline), true);
    assert.equal(keyring.metricsTokens?.accepts(fromFile), true);
    assert.equal(keyring.metricsTokens?.accepts(key.secrets[0]!), false);
    assert.deepEqual(keyring.files, [`${dir}/keys.json`, `${dir}/prometheus.token`]);
    assert.deepEqual(await secretFilesOf(`${dir}/keys.json`), [`${dir}/prometheus.token`]);
    // A key file without "metrics" reads no metrics at all.
    await write(`${dir}/keys.json`, { keys: [key] });
    assert.equal((await loadKeys(`${dir}/keys.json`)).metricsTokens?.size, 0);
  });
});

Deno.test("loadKeys() refuses a short or odd metrics token, and a token file others may read", async () => {
  await withDir(async (dir) => {
    const keys = [{ id: "a", secrets: [newSecret()], ops: ["*"] }];
    for (const token of ["short", `rfm_${"a".repeat(40)} x`, `rfm_${"a".repeat(40)}\n`]) {
      await write(`${dir}/keys.json`, { keys, metrics: { tokens: [token] } });
      await assert.rejects(loadKeys(`${dir}/keys.json`), refused("invalid_input", /metrics/));
    }
    await write(`${dir}/token`, `rfm_${"a".repeat(43)}`, 0o644);
    await write(`${dir}/keys.json`, { keys, metrics: { tokenFiles: [`${dir}/token`] } });
    await assert.rejects(loadKeys(`${dir}/keys.json`), refused("denied", /chmod 600/));
    await write(`${dir}/token`, "not a token at all", 0o600);
    await assert.rejects(
      loadKeys(`${dir}/keys.json`),
      refused("invalid_input", /metrics token file/),
    );
  });
});
