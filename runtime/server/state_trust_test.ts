import assert from "node:assert/strict";
import { RootfenceError } from "../errors.ts";
import { assertStateTrusted, entryProblem, stateTrustProblems } from "./state_trust.ts";

const UID = Deno.uid()!;
const NOBODY = 65534;
/** chown needs root; without it those tests are skipped, and say so. */
const ROOT = UID === 0;
if (!ROOT) console.log("state_trust_test: not root, skipping the tests that chown to nobody");

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-trust-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A state dir `<dir>/state` (0700) with a keys file (0600) in it. */
async function state(dir: string): Promise<{ stateDir: string; keysFile: string }> {
  const stateDir = `${dir}/state`;
  await Deno.mkdir(stateDir, { mode: 0o700 });
  const keysFile = `${stateDir}/keys.json`;
  await Deno.writeTextFile(keysFile, "{}", { mode: 0o600 });
  return { stateDir, keysFile };
}

function info(fields: Partial<Deno.FileInfo>): Deno.FileInfo {
  const base = { isFile: false, isDirectory: false, isSymlink: false, uid: 0, mode: 0 };
  return { ...base, ...fields } as Deno.FileInfo;
}

Deno.test("entryProblem() names the fix for each untrusted entry", () => {
  const file = { isFile: true, uid: 0, mode: 0o100600 };
  const dir = { isDirectory: true, uid: 0, mode: 0o40700 };
  const table: [Parameters<typeof entryProblem>[1], Partial<Deno.FileInfo>, RegExp | undefined][] =
    [
      ["keys file", file, undefined],
      ["keys file", { ...file, mode: 0o100400 }, undefined],
      ["keys file", { isSymlink: true }, /symlink; point --keys-file at the real file/],
      ["keys file", { ...file, uid: NOBODY }, /owned by uid 65534, not by uid 0.*chown 0/],
      ["keys file", { ...file, mode: 0o100640 }, /mode 640 .*chmod 600/],
      ["keys file", { isFile: false, isDirectory: true, uid: 0 }, /not a regular file/],
      ["secret file", { ...file, mode: 0o100604 }, /secret file.*chmod 600/],
      ["secret file", { isSymlink: true }, /symlink; list the real file in secretFiles/],
      ["state dir", dir, undefined],
      ["state dir", { ...dir, mode: 0o40711 }, undefined],
      ["state dir", { ...dir, mode: 0o40777 }, /mode 777 lets group or others write it; chmod 700/],
      ["state dir", { ...dir, mode: 0o41777 }, /mode 1777/],
      ["state dir", { ...dir, mode: 0o40770 }, /chmod 700/],
      ["state dir", { ...dir, uid: NOBODY }, /owned by uid 65534/],
      ["state dir", { isSymlink: true }, /symlink; point --state-dir at the real directory/],
      ["state dir", file, /not a directory/],
      ["journal file", { ...file, mode: 0o100644 }, undefined],
      ["journal file", { isSymlink: true }, /journal file .*symlink; remove it/],
      ["journal file", { ...file, uid: NOBODY }, /owned by uid 65534/],
    ];
  for (const [entry, fields, expected] of table) {
    const problem = entryProblem("/x", entry, info(fields), 0);
    if (expected === undefined) {
      assert.equal(problem, undefined, `${entry} ${JSON.stringify(fields)}`);
    } else assert.match(problem ?? "", expected, `${entry} ${JSON.stringify(fields)}`);
  }
});

Deno.test("stateTrustProblems() accepts a private state dir below the sticky /tmp, and a missing one", async () => {
  await withDir(async (dir) => {
    const { stateDir, keysFile } = await state(dir);
    assert.deepEqual(await stateTrustProblems({ stateDir, keysFile, uid: UID }), []);
    const missing = `${dir}/not-yet`;
    assert.deepEqual(
      await stateTrustProblems({ stateDir: missing, keysFile: `${missing}/keys.json`, uid: UID }),
      [],
    );
  });
});

Deno.test("stateTrustProblems() refuses a 0777 state dir with a planted journal.db symlink", async () => {
  await withDir(async (dir) => {
    const { stateDir, keysFile } = await state(dir);
    await Deno.chmod(stateDir, 0o777);
    await Deno.mkdir(`${dir}/outside`);
    await Deno.symlink(`${dir}/outside/journal.db`, `${stateDir}/journal.db`);
    await Deno.symlink(`${dir}/outside/wal`, `${stateDir}/journal.db-wal`);
    await Deno.mkdir(`${stateDir}/journal.db-shm`);
    const problems = await stateTrustProblems({ stateDir, keysFile, uid: UID });
    assert.equal(problems.length, 4, problems.join("\n"));
    assert.match(problems[0]!, /state dir .*mode 777 .*chmod 700/);
    assert.match(problems[1]!, /journal\.db".*symlink; remove it/);
    assert.match(problems[2]!, /journal\.db-wal".*symlink/);
    assert.match(problems[3]!, /journal\.db-shm".*not a regular file/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/outside`)], []);
  });
});

Deno.test("stateTrustProblems() refuses a keys file that is a symlink to a private file", async () => {
  await withDir(async (dir) => {
    const { stateDir, keysFile } = await state(dir);
    await Deno.rename(keysFile, `${dir}/real-keys.json`);
    await Deno.symlink(`${dir}/real-keys.json`, keysFile);
    const [problem, ...rest] = await stateTrustProblems({ stateDir, keysFile, uid: UID });
    assert.match(problem!, /keys file ".*keys\.json": it is a symlink/);
    assert.deepEqual(rest, []);
  });
});

Deno.test("stateTrustProblems() refuses secret files that are symlinks or loose", async () => {
  await withDir(async (dir) => {
    const { stateDir, keysFile } = await state(dir);
    await Deno.writeTextFile(`${dir}/secret`, "whsec_x", { mode: 0o600 });
    await Deno.symlink(`${dir}/secret`, `${dir}/linked`);
    await Deno.writeTextFile(`${dir}/loose`, "whsec_x", { mode: 0o600 });
    await Deno.chmod(`${dir}/loose`, 0o644);
    const problems = await stateTrustProblems({
      stateDir,
      keysFile,
      secretFiles: [`${dir}/secret`, `${dir}/linked`, `${dir}/loose`],
      uid: UID,
    });
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.match(problems[0]!, /secret file ".*linked": it is a symlink/);
    assert.match(problems[1]!, /secret file ".*loose": mode 644/);
  });
});

Deno.test("stateTrustProblems() refuses group- or other-writable directories above, unless sticky", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/shared`);
    const { stateDir, keysFile } = await state(`${dir}/shared`);
    for (const mode of [0o777, 0o775, 0o757]) {
      await Deno.chmod(`${dir}/shared`, mode);
      const [problem, ...rest] = await stateTrustProblems({ stateDir, keysFile, uid: UID });
      assert.match(
        problem ?? "",
        new RegExp(
          `directory ".*/shared" above the state files: mode ${mode.toString(8)} .*chmod go-w`,
        ),
      );
      assert.deepEqual(rest, []);
    }
    // Sticky, like /tmp: others cannot rename or remove what is ours inside it.
    await Deno.chmod(`${dir}/shared`, 0o1777);
    assert.deepEqual(await stateTrustProblems({ stateDir, keysFile, uid: UID }), []);
    // A fenced process that may not read the directories above skips them when told to.
    await Deno.chmod(`${dir}/shared`, 0o777);
    assert.deepEqual(
      await stateTrustProblems({ stateDir, keysFile, uid: UID, ancestors: false }),
      [],
    );
  });
});

Deno.test("stateTrustProblems() follows a symlinked directory above and checks where it leads", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/open`, { mode: 0o700 });
    await Deno.chmod(`${dir}/open`, 0o777);
    await Deno.mkdir(`${dir}/open/real`, { mode: 0o700 });
    const { stateDir, keysFile } = await state(`${dir}/open/real`);
    await Deno.symlink(`${dir}/open/real`, `${dir}/via`);
    const problems = await stateTrustProblems({
      stateDir: `${dir}/via/state`,
      keysFile: `${dir}/via/state/keys.json`,
      uid: UID,
    });
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0]!, /directory ".*\/open" above the state files: mode 777/);
    assert.deepEqual(
      await stateTrustProblems({ stateDir, keysFile, uid: UID, ancestors: false }),
      [],
    );
  });
});

Deno.test({
  name:
    "stateTrustProblems() refuses a keys file, a state dir or a directory above owned by nobody",
  ignore: !ROOT,
  async fn() {
    await withDir(async (dir) => {
      await Deno.mkdir(`${dir}/above`, { mode: 0o755 });
      const { stateDir, keysFile } = await state(`${dir}/above`);
      await Deno.chown(keysFile, NOBODY, NOBODY);
      let problems = await stateTrustProblems({ stateDir, keysFile, uid: UID });
      assert.deepEqual(problems.length, 1, problems.join("\n"));
      assert.match(problems[0]!, /keys file ".*": it is owned by uid 65534, not by uid 0/);

      await Deno.chown(keysFile, UID, UID);
      await Deno.chown(stateDir, NOBODY, NOBODY);
      problems = await stateTrustProblems({ stateDir, keysFile, uid: UID });
      assert.match(problems[0] ?? "", /state dir ".*": it is owned by uid 65534/);

      await Deno.chown(stateDir, UID, UID);
      await Deno.chown(`${dir}/above`, NOBODY, NOBODY);
      problems = await stateTrustProblems({ stateDir, keysFile, uid: UID });
      assert.match(
        problems[0] ?? "",
        /directory ".*\/above" above the state files: it is owned by uid 65534, neither root/,
      );
    });
  },
});

Deno.test({
  name: "stateTrustProblems() accepts root's directories above a service user's state",
  ignore: !ROOT,
  async fn() {
    await withDir(async (dir) => {
      const { stateDir, keysFile } = await state(dir);
      await Deno.chmod(dir, 0o755);
      await Deno.chown(stateDir, NOBODY, NOBODY);
      await Deno.chown(keysFile, NOBODY, NOBODY);
      assert.deepEqual(await stateTrustProblems({ stateDir, keysFile, uid: NOBODY }), []);
    });
  },
});

Deno.test("assertStateTrusted() throws denied with the first problem as its one-line message", async () => {
  await withDir(async (dir) => {
    const { stateDir, keysFile } = await state(dir);
    await Deno.chmod(stateDir, 0o777);
    await Deno.symlink("/etc/passwd", `${stateDir}/journal.db`);
    await assert.rejects(assertStateTrusted({ stateDir, keysFile, uid: UID }), (error) => {
      assert.ok(error instanceof RootfenceError);
      assert.equal(error.code, "denied");
      assert.doesNotMatch(error.message, /\n/);
      assert.match(error.message, /^Cannot trust state dir .*chmod 700/);
      assert.equal((error.detail.problems as string[]).length, 2);
      return true;
    });
    await Deno.remove(`${stateDir}/journal.db`);
    await Deno.chmod(stateDir, 0o700);
    await assertStateTrusted({ stateDir, keysFile, uid: UID });
  });
});
