import assert from "node:assert/strict";
import { runCli } from "../cli/usage.ts";
import { loadKeys } from "../server/keys.ts";
import { main } from "./cli.ts";

/** Runs `deno task keygen ...` in process, as `runCli` would, with its output captured. */
async function keygen(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => out.push(parts.join(" "));
  console.error = (...parts: unknown[]) => err.push(parts.join(" "));
  try {
    const code = await runCli(main, "deno task keygen", ["keygen", ...args]);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-keygen-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const keysOf = async (path: string) => JSON.parse(await Deno.readTextFile(path)).keys;

Deno.test("keygen adds a key, rotates, retires and removes, and the receiver loads each result", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/keys.json`;
    assert.equal((await keygen("--keys-file", path)).code, 0);
    const first = (await keysOf(path))[0].secrets[0];

    const added = await keygen(
      "--keys-file",
      path,
      "--add",
      "monitoring",
      "--ops",
      "smart,sensors",
    );
    assert.equal(added.code, 0, added.err);
    assert.match(added.out, /^rootfence: added key "monitoring" \(ops smart,sensors\) to /);
    assert.deepEqual((await keysOf(path))[1].ops, ["smart", "sensors"]);

    const rotated = await keygen(
      "--keys-file",
      path,
      "--rotate",
      "default",
      "--secret-out",
      `${dir}/new.secret`,
    );
    assert.equal(rotated.code, 0, rotated.err);
    const secrets = (await keysOf(path))[0].secrets;
    assert.deepEqual(secrets.slice(0, 1), [first]);
    assert.equal(secrets.length, 2);
    assert.equal(await Deno.readTextFile(`${dir}/new.secret`), `${secrets[1]}\n`);
    assert.equal((await Deno.lstat(`${dir}/new.secret`)).mode! & 0o777, 0o600);
    assert.doesNotMatch(rotated.out + rotated.err, /whsec_/, "a new secret is never printed");
    assert.equal((await loadKeys(path)).keys[0]!.secrets.length, 2);

    assert.equal(
      (await keygen("--keys-file", path, "--retire", "default", "--secret", "1")).code,
      0,
    );
    assert.deepEqual((await keysOf(path))[0].secrets, [secrets[1]]);
    assert.equal((await keygen("--keys-file", path, "--remove", "monitoring")).code, 0);
    assert.deepEqual((await keysOf(path)).map((k: { id: string }) => k.id), ["default"]);
    const info = await Deno.lstat(path);
    assert.equal(info.mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "keys.json",
      "new.secret",
    ]);
    assert.equal((await loadKeys(path)).keys.length, 1);
  });
});

Deno.test("keygen refuses an edit in one line with exit 2, and leaves the file as it was", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/keys.json`;
    await keygen("--keys-file", path);
    const before = await Deno.readTextFile(path);
    const cases: [string[], RegExp][] = [
      [["--rotate", "nobody"], /^Cannot add a secret to key "nobody": there is no such key/],
      [["--retire", "default", "--secret", "1"], /it is the key's last one/],
      [["--add", "default", "--ops", "*"], /^Cannot add key "default": it already exists/],
      [["--remove", "default"], /it is the file's only key/],
      [["--add", "x"], /^Cannot add key "x": name its ops with --ops/],
      [["--rotate", "default", "--remove", "default"], /^Cannot --rotate and --remove at once/],
      [["--remove", "default", "--secret-out", `${dir}/s`], /^--secret-out goes with --add or/],
    ];
    for (const [args, message] of cases) {
      const run = await keygen("--keys-file", path, ...args);
      assert.equal(run.code, 2, args.join(" "));
      const [line, help] = run.err.split("\n");
      assert.match(line!, message, args.join(" "));
      assert.match(help!, /^See: .*keygen --help$/);
    }
    assert.equal(await Deno.readTextFile(path), before);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["keys.json"]);
  });
});

Deno.test("keygen edits no symlink and no broken file, and never overwrites a --secret-out (exit 3)", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/keys.json`;
    await keygen("--keys-file", path);
    const before = await Deno.readTextFile(path);
    await Deno.symlink(path, `${dir}/link.json`);
    await Deno.writeTextFile(`${dir}/broken.json`, "{", { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/taken`, "mine", { mode: 0o600 });
    const cases: [string[], RegExp][] = [
      [
        ["--keys-file", `${dir}/link.json`, "--rotate", "default"],
        /^rootfence: Cannot edit ".*link\.json": it is a symlink; point --keys-file at the real/,
      ],
      [
        ["--keys-file", `${dir}/broken.json`, "--rotate", "default"],
        /^rootfence: Cannot edit ".*broken\.json": it is not JSON; fix it by hand$/,
      ],
      [
        ["--keys-file", `${dir}/none.json`, "--rotate", "default"],
        /^rootfence: Cannot edit ".*none\.json": it does not exist; create it with .*keygen/,
      ],
      [
        ["--keys-file", path, "--rotate", "default", "--secret-out", `${dir}/taken`],
        /^rootfence: Cannot write the new secret to ".*taken": something is already there/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = await keygen(...args);
      assert.equal(run.code, 3, args.join(" "));
      assert.match(run.err, message);
      assert.equal(run.err.split("\n").length, 1);
    }
    assert.equal(await Deno.readTextFile(path), before);
    assert.equal(await Deno.readTextFile(`${dir}/taken`), "mine");
  });
});

Deno.test("keygen --add --scope writes a scope the receiver loads, and refuses one it would not", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/keys.json`;
    await keygen("--keys-file", path);
    const before = await Deno.readTextFile(path);
    const usb = JSON.stringify({ "mount-usb": [{ uuid: "1298-0BD4", target: "/srv/usb/photos" }] });
    const cases: [string[], RegExp][] = [
      [["--scope", "{"], /^Cannot add key "x": --scope: not JSON$/],
      [["--scope", '{"smart":[{"disk":"/dev/sda"}]}'], /scope of "smart", field "disk": the op's/],
      [["--scope", '{"smart":[{"device":{"oneOf":[]}}]}'], /smart\.0\.device\.oneOf: must list/],
      [["--scope", '{"smart":[{"__proto__":1,"device":"/dev/sda"}]}'], /"__proto__" key/],
      [["--scope", '{"sensors":[{"x":1}]}'], /scope of "sensors": the key may not trigger it/],
      [["--scope", usb], /must be directly inside "\/mnt\/usb"/],
      [["--mount-base", "/srv/usb"], /^--mount-base goes with --scope$/],
    ];
    for (const [args, message] of cases) {
      const ops = args.includes(usb) ? "mount-usb" : "smart";
      const run = await keygen("--keys-file", path, "--add", "x", "--ops", ops, ...args);
      assert.equal(run.code, 2, args.join(" "));
      assert.match(run.err.split("\n")[0]!, message, args.join(" "));
    }
    const rotating = await keygen("--keys-file", path, "--rotate", "default", "--scope", "{}");
    assert.match(rotating.err, /^--scope goes with --add/);
    assert.equal(await Deno.readTextFile(path), before);

    const scope = '{"smart":[{"device":{"oneOf":["/dev/sda","/dev/sdb"]}}]}';
    const added = await keygen(
      "--keys-file",
      path,
      "--add",
      "disks",
      "--ops",
      "smart",
      "--scope",
      scope,
    );
    assert.equal(added.code, 0, added.err);
    assert.match(added.out, /^rootfence: added key "disks" \(ops smart; inputs scoped for smart\)/);
    const elsewhere = await keygen(
      "--keys-file",
      path,
      "--add",
      "usb",
      "--ops",
      "mount-usb",
      "--scope",
      usb,
      "--mount-base",
      "/srv/usb",
    );
    assert.equal(elsewhere.code, 0, elsewhere.err);
    assert.deepEqual((await keysOf(path))[1].scopes, JSON.parse(scope));
    const keys = (await loadKeys(path, { settings: { mountBase: "/srv/usb" } })).keys;
    assert.deepEqual([...keys[1]!.scopes!.keys()], ["smart"]);
    assert.deepEqual([...keys[2]!.scopes!.keys()], ["mount-usb"]);
  });
});

Deno.test("keygen adds and retires metrics tokens, keeps the keys, and the receiver loads each result", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/keys.json`;
    assert.equal((await keygen("--keys-file", path)).code, 0);
    const keys = await keysOf(path);
    const added = await keygen("--keys-file", path, "--metrics-token", "--secret-out", `${dir}/t`);
    assert.equal(added.code, 0, added.err);
    assert.match(
      added.out,
      /^rootfence: added metrics token 1 to .*; a copy for Prometheus is in /,
    );
    const token = (await Deno.readTextFile(`${dir}/t`)).trim();
    assert.match(token, /^rfm_[A-Za-z0-9_-]{43}$/);
    assert.ok(!added.out.includes(token), "the token is never printed");
    assert.equal((await Deno.stat(`${dir}/t`)).mode! & 0o777, 0o600);
    assert.equal((await keygen("--keys-file", path, "--metrics-token")).code, 0);
    const doc = JSON.parse(await Deno.readTextFile(path));
    assert.deepEqual(doc.keys, keys);
    assert.equal(doc.metrics.tokens.length, 2);
    assert.equal(doc.metrics.tokens[0], token);
    const loaded = await loadKeys(path);
    assert.equal(loaded.metricsTokens?.accepts(token), true);

    const retired = await keygen("--keys-file", path, "--retire-metrics-token", token.slice(0, 12));
    assert.equal(retired.code, 0, retired.err);
    assert.match(retired.out, /retired a metrics token in .* \(1 left\)/);
    assert.equal((await loadKeys(path)).metricsTokens?.accepts(token), false);
    assert.equal((await keygen("--keys-file", path, "--retire-metrics-token", "1")).code, 0);
    assert.equal(JSON.parse(await Deno.readTextFile(path)).metrics, undefined);
    const none = await keygen("--keys-file", path, "--retire-metrics-token", "1");
    assert.equal(none.code, 2);
    assert.match(none.err, /no token 1/);
    const both = await keygen("--keys-file", path, "--metrics-token", "--remove", "default");
    assert.equal(both.code, 2);
  });
});
