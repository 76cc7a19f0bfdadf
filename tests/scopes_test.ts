/**
 * Scopes on inputs through a real receiver (`deno task start` with recording fakes): for each
 * of issue 14's cases, an allowed input runs and is journaled, and a refused one gets 403
 * `scope_denied` naming the failed constraint, runs nothing and leaves no job. Then an attacker
 * tries input variants to slip past a scope, and SIGHUP reloads scopes with the same checks.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { signedRequest } from "../runtime/cli/client.ts";
import { newSecret } from "../runtime/signing.ts";
import { fakeBin, shQuote } from "./_fakes.ts";
import { startReceiver } from "./_receiver.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";
const PHOTOS = "1298-0BD4";
const BACKUP = "3f6e1a52-8c4d-4f0e-9b1a-2d5c7e9f0a13";
const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const LXC = { vmid: 250, ostemplate: TEMPLATE, storage: "local-lvm", rootfsGb: 8 };

const SECRETS = { default: newSecret(), disks: newSecret(), usb: newSecret(), golden: newSecret() };
type KeyId = keyof typeof SECRETS;

function keysFile(base: string, disks: unknown = ["/dev/sda", "/dev/sdb"]) {
  return {
    keys: [
      { id: "default", secrets: [SECRETS.default], ops: ["*"] },
      {
        id: "disks",
        secrets: [SECRETS.disks],
        ops: ["smart", "sensors"],
        scopes: { smart: [{ device: { oneOf: disks } }] },
      },
      {
        id: "usb",
        secrets: [SECRETS.usb],
        ops: ["mount-usb"],
        scopes: {
          "mount-usb": [
            { uuid: PHOTOS, target: `${base}/photos` },
            { uuid: BACKUP, target: `${base}/backup` },
          ],
        },
      },
      {
        id: "golden",
        secrets: [SECRETS.golden],
        ops: ["create-golden-lxc"],
        scopes: { "create-golden-lxc": [{ vmid: { min: 200, max: 299 }, storage: "local-lvm" }] },
      },
    ],
  };
}

Deno.test("scopes through a real receiver: each case allowed and refused, attackers refused, reloads checked", async (t) => {
  const fakes = await fakeBin();
  await fakes.write(
    "smartctl",
    `printf '%s' ${shQuote('{"smartctl":{"exit_status":0},"smart_status":{"passed":true}}')}`,
  );
  // mount resolves no UUID, so a mount job fails (uuid_not_found) after the fake was called.
  await fakes.write("mount", `echo "mount: can't find UUID=$7" >&2; exit 1`);
  await fakes.write("pct", "exit 0");
  const stateDir = await Deno.makeTempDir({ prefix: "rootfence-scopes-" });
  const base = `${await Deno.realPath(stateDir)}-base`;
  await Deno.mkdir(base, { mode: 0o755 });
  const keys = `${stateDir}/keys.json`;
  await Deno.writeTextFile(keys, JSON.stringify(keysFile(base)), { mode: 0o600 });
  const receiver = await startReceiver(stateDir, [
    "--bin-path",
    `${fakes.dir}:${SYSTEM}`,
    "--mount-base",
    base,
  ]);
  const post = async (key: KeyId, op: string, body: unknown, id?: string) => {
    const response = await fetch(
      await signedRequest(`${receiver.url}/hooks/${op}`, {
        secret: SECRETS[key],
        body: typeof body === "string" ? body : JSON.stringify(body),
        ...(id === undefined ? {} : { id }),
        headers: { prefer: "wait=20" },
      }),
    );
    return { status: response.status, body: await response.json() };
  };
  /** A refusal: 403 scope_denied naming `needs`, and no host command run for it. */
  const refused = async (key: KeyId, op: string, body: unknown, needs: string[]) => {
    const binary = { smart: "smartctl", "mount-usb": "mount", "create-golden-lxc": "pct" }[op]!;
    const before = (await fakes.calls(binary)).length;
    const { status, body: problem } = await post(key, op, body);
    assert.equal(status, 403, JSON.stringify(problem));
    assert.equal(problem.code, "scope_denied");
    assert.equal(problem.type, "urn:rootfence:problem:scope_denied");
    assert.deepEqual(problem.scope.map((s: { needs: string }) => s.needs), needs);
    for (const words of needs) assert.ok(problem.detail.includes(words), problem.detail);
    assert.ok(problem.detail.startsWith(`Key "${key}" may not run "${op}" with this input: `));
    assert.equal(problem.jobId, undefined);
    assert.equal((await fakes.calls(binary)).length, before);
  };
  /** What each key got journaled, as `key op input`. */
  const journaled = async (key: KeyId) => {
    const response = await fetch(
      await signedRequest(`${receiver.url}/jobs?limit=500`, { secret: SECRETS[key] }),
    );
    const { jobs } = await response.json();
    return await Promise.all(jobs.map(async (s: { jobId: string }) => {
      const job = await (await fetch(
        await signedRequest(`${receiver.url}/jobs/${s.jobId}`, { secret: SECRETS[key] }),
      )).json();
      return `${job.op} ${JSON.stringify(job.input)}`;
    }));
  };
  try {
    await t.step(
      "smart: a listed device runs; another, or none (every disk), is refused",
      async () => {
        const allowed = await post("disks", "smart", { device: "/dev/sdb" });
        assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
        assert.equal(allowed.body.status, "succeeded", JSON.stringify(allowed.body));
        assert.deepEqual((await fakes.calls("smartctl")).map((c) => c.argv.at(-1)), ["/dev/sdb"]);
        const needs = ['device is "/dev/sda" or "/dev/sdb"'];
        await refused("disks", "smart", { device: "/dev/sdc" }, needs);
        await refused("disks", "smart", {}, needs);
        // A key without scopes behaves as before.
        assert.equal((await post("default", "smart", { device: "/dev/sdc" })).status, 200);
        assert.deepEqual(await journaled("disks"), ['smart {"device":"/dev/sdb"}']);
      },
    );

    await t.step("mount-usb: each UUID at its own target runs; crossed over, refused", async () => {
      const allowed = await post("usb", "mount-usb", {
        uuid: PHOTOS,
        target: `${base}/photos`,
        fsType: "vfat",
      });
      assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
      assert.equal(allowed.body.op, "mount-usb");
      if (Deno.uid() === 0) {
        // As root the test's base is safe, so the job reached mount (run as `mount --fake`).
        assert.equal(
          allowed.body.result.error.code,
          "uuid_not_found",
          JSON.stringify(allowed.body),
        );
        const [call] = await fakes.calls("mount");
        assert.ok(call!.argv.includes(`UUID=${PHOTOS}`) && call!.argv.includes(`${base}/photos`));
      } else console.log("skip: not root, so the test's mount base is unsafe and mount never runs");
      const mounts = (await fakes.calls("mount")).length;
      await refused("usb", "mount-usb", {
        uuid: PHOTOS,
        target: `${base}/backup`,
        fsType: "vfat",
      }, [`target is "${base}/photos"`, `uuid is "${BACKUP}"`]);
      await refused("usb", "mount-usb", {
        uuid: "0A1B-2C3D",
        target: `${base}/photos`,
        fsType: "vfat",
      }, [`uuid is "${PHOTOS}"`, `uuid is "${BACKUP}"`]);
      assert.equal((await fakes.calls("mount")).length, mounts);
      assert.deepEqual(await journaled("usb"), [
        `mount-usb ${JSON.stringify({ uuid: PHOTOS, target: `${base}/photos`, fsType: "vfat" })}`,
      ]);
    });

    await t.step(
      "create-golden-lxc: a vmid in range on the storage runs; outside either, refused",
      async () => {
        const allowed = await post("golden", "create-golden-lxc", LXC);
        assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
        const [call] = await fakes.calls("pct");
        assert.deepEqual(call!.argv.slice(1, 3), ["create", "250"]);
        await refused("golden", "create-golden-lxc", { ...LXC, vmid: 300 }, ["vmid is 200–299"]);
        await refused("golden", "create-golden-lxc", { ...LXC, vmid: 199 }, ["vmid is 200–299"]);
        await refused("golden", "create-golden-lxc", { ...LXC, storage: "local-zfs" }, [
          'storage is "local-lvm"',
        ]);
        assert.deepEqual(await journaled("golden"), [`create-golden-lxc ${JSON.stringify(LXC)}`]);
      },
    );

    await t.step("a refused delivery stays refused when it is delivered again", async () => {
      for (let i = 0; i < 2; i++) {
        const { status, body } = await post("disks", "smart", { device: "/dev/sdd" }, "msg_again");
        assert.equal(status, 403, JSON.stringify(body));
        assert.equal(body.code, "scope_denied");
      }
      assert.deepEqual(await journaled("disks"), ['smart {"device":"/dev/sdb"}']);
    });

    await t.step("an attacker's variants are refused by the schema or by the scope", async () => {
      const before = await Promise.all(
        ["smartctl", "mount", "pct"].map(async (b) => (await fakes.calls(b)).length),
      );
      // Each is refused by the op's schema (422) or, when the schema takes it, by the scope.
      const SCHEMA = 422;
      const SCOPE = 403;
      const lxc = (replace: string, by: string) => JSON.stringify(LXC).replace(replace, by);
      const variants: [KeyId, string, unknown, number][] = [
        ["disks", "smart", { device: "/dev/sda/../sdc" }, SCHEMA],
        ["disks", "smart", { device: "/dev/sda/" }, SCHEMA],
        ["disks", "smart", { device: "/dev/SDA" }, SCHEMA],
        ["disks", "smart", { device: "/dev//sda" }, SCHEMA],
        ["disks", "smart", { device: " /dev/sda" }, SCHEMA],
        ["disks", "smart", { device: "/dev/sda\u0000" }, SCHEMA],
        ["disks", "smart", { device: "/dev/\u0455da" }, SCHEMA], // a Cyrillic "s"
        // Another name, perhaps of /dev/sda, perhaps not: the scope names the device it allows.
        ["disks", "smart", { device: "/dev/disk/by-id/ata-Other_Disk" }, SCOPE],
        ["disks", "smart", { device: ["/dev/sda", "/dev/sdc"] }, SCHEMA],
        ["disks", "smart", { device: { oneOf: ["/dev/sdc"] } }, SCHEMA],
        ["disks", "smart", { device: "/dev/sda", devices: "/dev/sdc" }, SCHEMA],
        ["disks", "smart", { deviceType: "sat" }, SCHEMA],
        // JSON.parse keeps the last of duplicate keys, and so does everything after it.
        ["disks", "smart", '{"device":"/dev/sda","device":"/dev/sdc"}', SCOPE],
        ["disks", "smart", '{"__proto__":{"device":"/dev/sda"}}', SCHEMA],
        ["disks", "smart", '{"constructor":{"device":"/dev/sda"}}', SCHEMA],
        ["golden", "create-golden-lxc", { ...LXC, vmid: "250" }, SCHEMA],
        ["golden", "create-golden-lxc", { ...LXC, vmid: 250.5 }, SCHEMA],
        ["golden", "create-golden-lxc", { ...LXC, vmid: [250] }, SCHEMA],
        ["golden", "create-golden-lxc", lxc('"vmid":250', '"vmid":2e3'), SCOPE],
        ["golden", "create-golden-lxc", lxc('"vmid":250', '"vmid":250,"vmid":900'), SCOPE],
        // The schema takes a storage id in any case, as PVE's format does; the scope is exact.
        ["golden", "create-golden-lxc", { ...LXC, storage: "LOCAL-LVM" }, SCOPE],
        ["golden", "create-golden-lxc", { ...LXC, storage: "local-lvm " }, SCHEMA],
        ["golden", "create-golden-lxc", { ...LXC, storage: "local-lvm,local-zfs" }, SCHEMA],
        ["golden", "create-golden-lxc", { ...LXC, storage: null }, SCHEMA],
        ["usb", "mount-usb", { uuid: PHOTOS, target: `${base}/photos/`, fsType: "vfat" }, SCHEMA],
        ["usb", "mount-usb", { uuid: PHOTOS, target: `${base}/./photos`, fsType: "vfat" }, SCHEMA],
        [
          "usb",
          "mount-usb",
          { uuid: PHOTOS, target: `${base}/photos/../backup`, fsType: "vfat" },
          SCHEMA,
        ],
        [
          "usb",
          "mount-usb",
          { uuid: PHOTOS.toLowerCase(), target: `${base}/photos`, fsType: "vfat" },
          SCHEMA,
        ],
        [
          "usb",
          "mount-usb",
          { uuid: BACKUP.toUpperCase(), target: `${base}/backup`, fsType: "ext4" },
          SCHEMA,
        ],
        [
          "usb",
          "mount-usb",
          { uuid: PHOTOS, target: `${base}/photos`, fsType: "vfat", x: 1 },
          SCHEMA,
        ],
      ];
      for (const [key, op, body, expected] of variants) {
        const { status, body: problem } = await post(key, op, body);
        const why = `${op} ${typeof body === "string" ? body : JSON.stringify(body)}`;
        assert.equal(status, expected, `${why}: ${JSON.stringify(problem)}`);
        assert.equal(problem.code, expected === SCOPE ? "scope_denied" : "invalid_input", why);
      }
      const after = await Promise.all(
        ["smartctl", "mount", "pct"].map(async (b) => (await fakes.calls(b)).length),
      );
      assert.deepEqual(after, before);
      // Duplicate keys: JSON.parse keeps the last, and what runs is what the scope judged.
      const last = await post("disks", "smart", '{"device":"/dev/sdc","device":"/dev/sda"}');
      assert.equal(last.status, 200, JSON.stringify(last.body));
      assert.equal((await fakes.calls("smartctl")).at(-1)!.argv.at(-1), "/dev/sda");
    });

    await t.step(
      "SIGHUP refuses a bad scope and keeps the keys in force; a good one applies",
      async () => {
        const hangUp = async (kind: string) => {
          const count = () => receiver.lines.filter((l) => l.kind === kind).length;
          const before = count();
          Deno.kill(receiver.starterPid, "SIGHUP");
          const deadline = Date.now() + 10_000;
          while (count() === before && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 50));
          }
          return receiver.lines.filter((l) => l.kind === kind).at(-1)!;
        };
        await Deno.writeTextFile(keys, JSON.stringify(keysFile(base, ["/dev/sda", "/dev/sdc1"])));
        const failed = await hangUp("keys_reload_failed");
        assert.match(
          String(failed.message),
          /key "disks".*scope of "smart", field "device": the field's schema refuses "\/dev\/sdc1".*the keys in force stay/,
        );
        await refused("disks", "smart", { device: "/dev/sdc" }, [
          'device is "/dev/sda" or "/dev/sdb"',
        ]);
        await Deno.writeTextFile(keys, JSON.stringify(keysFile(base, ["/dev/sdc"])));
        await hangUp("keys_reloaded");
        assert.equal((await post("disks", "smart", { device: "/dev/sdc" })).status, 200);
        await refused("disks", "smart", { device: "/dev/sdb" }, ['device is "/dev/sdc"']);
      },
    );
  } finally {
    assert.equal(await receiver.stop(), 0);
    await fakes.remove();
  }
  try {
    // The whole journal, every key's: exactly the jobs that were allowed.
    const db = new DatabaseSync(`${stateDir}/journal.db`, { readOnly: true });
    const rows = db.prepare("SELECT key_id, op, input FROM jobs ORDER BY created_at").all();
    db.close();
    assert.deepEqual(rows.map((r) => `${r.key_id} ${r.op} ${r.input}`), [
      'disks smart {"device":"/dev/sdb"}',
      'default smart {"device":"/dev/sdc"}',
      `usb mount-usb ${JSON.stringify({ uuid: PHOTOS, target: `${base}/photos`, fsType: "vfat" })}`,
      `golden create-golden-lxc ${JSON.stringify(LXC)}`,
      'disks smart {"device":"/dev/sda"}',
      'disks smart {"device":"/dev/sdc"}',
    ]);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
    await Deno.remove(base, { recursive: true });
  }
});
