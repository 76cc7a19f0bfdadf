import assert from "node:assert/strict";
import { RootfenceError } from "../errors.ts";
import { clientSecret, createKeysFile, loadKeys, mayTrigger } from "./keys.ts";
import { newSecret } from "./signature.ts";

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
