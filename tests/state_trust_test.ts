/**
 * Untrusted state, attacked for real: `deno task start` and the executor under its exact flags
 * (as its systemd unit runs it, with no starter before it) refuse to start, in one line, and
 * create nothing, least of all a journal where a planted symlink points.
 */
import assert from "node:assert/strict";
import { projectPath } from "../runtime/paths.ts";
import { serverDefaults } from "../runtime/server/config.ts";
import { buildExecutorCommand } from "../runtime/server/receiver_commands.ts";
import { startToExit } from "./_receiver.ts";

const ROOT = Deno.uid() === 0;
if (!ROOT) console.log("state_trust_test: not root, skipping the attacks that chown to nobody");

interface Outcome {
  readonly code: number;
  readonly lines: string[];
}

async function start(stateDir: string, args: string[] = []): Promise<Outcome> {
  const { code, stdout, stderr } = await startToExit(stateDir, args);
  return { code, lines: (stderr + stdout).split("\n").filter((line) => line !== "") };
}

/** `<dir>/state` (0700 unless told) holding nothing, and an empty `<dir>/outside`. */
async function attackDir(fn: (dir: string, stateDir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence-attack-" }));
  try {
    await Deno.mkdir(`${dir}/state`, { mode: 0o700 });
    await Deno.mkdir(`${dir}/outside`, { mode: 0o700 });
    await fn(dir, `${dir}/state`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function refusedInOneLine(outcome: Outcome, pattern: RegExp): void {
  assert.equal(outcome.code, 1, outcome.lines.join("\n"));
  assert.equal(outcome.lines.length, 1, outcome.lines.join("\n"));
  assert.match(outcome.lines[0]!, pattern);
}

Deno.test("the starter refuses a 0777 state dir with a planted journal.db symlink and creates nothing", async () => {
  await attackDir(async (dir, stateDir) => {
    await Deno.chmod(stateDir, 0o777);
    await Deno.symlink(`${dir}/outside/journal.db`, `${stateDir}/journal.db`);
    refusedInOneLine(await start(stateDir), /^Cannot trust state dir ".*": mode 777 .*chmod 700/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/outside`)], []);
    assert.deepEqual([...Deno.readDirSync(stateDir)].map((e) => e.name), ["journal.db"]);
    // With the mode fixed, the planted symlink is what it names next.
    await Deno.chmod(stateDir, 0o700);
    refusedInOneLine(await start(stateDir), /journal\.db": it is a symlink; remove it/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/outside`)], []);
  });
});

Deno.test("the starter refuses a keys file that is a symlink to a 0600 file", async () => {
  await attackDir(async (dir, stateDir) => {
    await Deno.writeTextFile(`${dir}/outside/keys.json`, "{}", { mode: 0o600 });
    await Deno.symlink(`${dir}/outside/keys.json`, `${stateDir}/keys.json`);
    refusedInOneLine(await start(stateDir), /^Cannot trust keys file ".*": it is a symlink/);
    assert.deepEqual([...Deno.readDirSync(stateDir)].map((e) => e.name), ["keys.json"]);
  });
});

Deno.test("the starter refuses a state dir below a group-writable directory", async () => {
  await attackDir(async (dir) => {
    await Deno.mkdir(`${dir}/shared/state`, { recursive: true, mode: 0o700 });
    await Deno.chmod(`${dir}/shared`, 0o770);
    refusedInOneLine(
      await start(`${dir}/shared/state`),
      /^Cannot trust directory ".*\/shared" above the state files: mode 770 .*chmod go-w/,
    );
    assert.deepEqual([...Deno.readDirSync(`${dir}/shared/state`)], []);
  });
});

Deno.test({
  name: "the starter refuses a 0600 keys file owned by nobody, and a state dir owned by nobody",
  ignore: !ROOT,
  async fn() {
    await attackDir(async (_dir, stateDir) => {
      await Deno.writeTextFile(`${stateDir}/keys.json`, "{}", { mode: 0o600 });
      await Deno.chown(`${stateDir}/keys.json`, 65534, 65534);
      refusedInOneLine(
        await start(stateDir),
        /^Cannot trust keys file ".*": it is owned by uid 65534, not by uid 0/,
      );
      await Deno.remove(`${stateDir}/keys.json`);
      await Deno.chown(stateDir, 65534, 65534);
      refusedInOneLine(
        await start(stateDir),
        /^Cannot trust state dir ".*": it is owned by uid 65534/,
      );
      assert.deepEqual([...Deno.readDirSync(stateDir)], []);
    });
  },
});

Deno.test("the executor under its own flags refuses a planted journal.db symlink by itself", async () => {
  await attackDir(async (dir, stateDir) => {
    await Deno.writeTextFile(`${stateDir}/keys.json`, "{}", { mode: 0o600 });
    await Deno.symlink(`${dir}/outside/journal.db`, `${stateDir}/journal.db`);
    const command = buildExecutorCommand({
      config: serverDefaults(stateDir),
      denoPath: await Deno.realPath(Deno.execPath()),
      configPath: projectPath("deno.json"),
      lockPath: projectPath("deno.lock"),
      entryPath: projectPath("runtime/server/executor.ts"),
      killPath: "/usr/bin/kill",
      binaries: {},
      denoDir: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      readFiles: [],
    });
    const output = await new Deno.Command(command.command, {
      args: [...command.args],
      clearEnv: true,
      env: { ...command.env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(output.stderr).split("\n").filter((l) => l !== "");
    refusedInOneLine({ code: output.code, lines }, /journal\.db": it is a symlink; remove it/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/outside`)], []);
  });
});
