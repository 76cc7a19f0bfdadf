/**
 * The state check: the rules the starter and the executor apply to their state before touching
 * it (`runtime/server/state_trust.ts`) face the attacks that once got through, in a scratch dir:
 * a planted `journal.db` symlink, a world-writable state dir, a keys file that is a symlink or
 * another user's, a group-writable directory above. Each must be refused. With `--state-dir`,
 * the real state dir and keys file are checked as well.
 *
 * @module
 */
import { stateTrustProblems } from "../server/state_trust.ts";
import { type CheckResult, result } from "./types.ts";

/** One planted attack and how to set it up in a fresh state dir under `root`. */
interface Plant {
  readonly name: string;
  plant(root: string, state: string): Promise<void>;
}

const NOBODY = 65534;

const PLANTS: readonly Plant[] = [
  {
    name: "a journal.db symlink in the state dir",
    plant: (_, state) => Deno.symlink("/etc/passwd", `${state}/journal.db`),
  },
  { name: "a state dir others may write (0777)", plant: (_, state) => Deno.chmod(state, 0o777) },
  {
    name: "a keys file that is a symlink",
    plant: async (root, state) => {
      await Deno.writeTextFile(`${root}/elsewhere.json`, "{}", { mode: 0o600 });
      await Deno.symlink(`${root}/elsewhere.json`, `${state}/keys.json`);
    },
  },
  {
    name: "a keys file owned by another user",
    plant: async (_, state) => {
      await Deno.writeTextFile(`${state}/keys.json`, "{}", { mode: 0o600 });
      await Deno.chown(`${state}/keys.json`, NOBODY, NOBODY);
    },
  },
  {
    name: "a state dir owned by another user",
    plant: (_, state) => Deno.chown(state, NOBODY, NOBODY),
  },
  { name: "a group-writable directory above", plant: (root) => Deno.chmod(root, 0o770) },
];

/**
 * Runs the state check. Needs read and write of a temporary dir, `--allow-sys=uid`, and root
 * for the plants that hand a file to another user (skipped otherwise).
 *
 * @param real The receiver's real state dir and keys file, when given.
 * @param judge The rules under audit; tests swap in a broken one.
 */
export async function checkState(
  real?: { readonly stateDir: string; readonly keysFile: string },
  judge: typeof stateTrustProblems = stateTrustProblems,
): Promise<CheckResult> {
  const uid = Deno.uid()!;
  const problems: string[] = [];
  const verified: string[] = [];
  for (const { name, plant } of PLANTS) {
    if (uid !== 0 && name.includes("another user")) continue;
    const root = await Deno.makeTempDir({ prefix: "rootfence-audit-state-" });
    try {
      await Deno.chmod(root, 0o755);
      const state = `${root}/state`;
      await Deno.mkdir(state, { mode: 0o700 });
      await plant(root, state);
      const found = await judge({
        stateDir: state,
        keysFile: `${state}/keys.json`,
        uid,
      });
      if (found.length === 0) problems.push(`${name} was trusted`);
      else verified.push(`${name}: refused (${found[0]})`);
    } finally {
      await Deno.chmod(root, 0o700).catch(() => undefined);
      await Deno.remove(root, { recursive: true });
    }
  }
  if (real !== undefined) {
    const found = await judge({ ...real, uid });
    problems.push(...found);
    if (found.length === 0) verified.push(`${real.stateDir} and ${real.keysFile} may be trusted`);
  }
  return result("state", "State files", problems, verified);
}
