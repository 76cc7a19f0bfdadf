/**
 * The receiver's live probe: `receiver_probe.ts` runs under the listener's and the executor's
 * exact flags (from the same builders `deno task start` uses) and every attempt outside each
 * process's grants must fail with `NotCapable`: the listener may run nothing (not even
 * `deno eval -A`), read no file and reach no host, and socket-activated it may not even listen;
 * the executor may reach no IP address and touch nothing but its state.
 *
 * @module
 */
import { projectPath } from "../paths.ts";
import type { ReceiverCommand } from "../server/receiver_commands.ts";
import { type CheckResult, result } from "./types.ts";

/** The probe entry. */
export const RECEIVER_PROBE: string = projectPath("runtime/audit/receiver_probe.ts");

const NOT_CAPABLE = /^NotCapable: /;

/** A process the probe runs as: the listener listening itself or socket-activated, the executor. */
export type ProbedProcess = "listener" | "listener socket-activated" | "executor";

/** What the listener may do: listen on its port, and nothing else. */
const LISTENER_CAN: Record<string, boolean> = {
  "run deno eval -A": false,
  "run /bin/sh": false,
  "fetch http://127.0.0.1:9999/": false,
  "connect 1.1.1.1:443": false,
  "read /etc/passwd": false,
  "write /tmp/x": false,
  "env HOME": false,
  "write state dir": false,
  "read state dir": false,
  "listen port": true,
};

/** Each process's attempts, and whether each must be allowed (true) or refused (false). */
export const EXPECTED: Readonly<Record<ProbedProcess, Record<string, boolean>>> = {
  listener: LISTENER_CAN,
  // systemd listens and hands it the socket: it holds no grant to listen anywhere.
  "listener socket-activated": { ...LISTENER_CAN, "listen port": false },
  executor: {
    "run /bin/sh": false,
    "fetch http://127.0.0.1:9999/": false,
    "connect 1.1.1.1:443": false,
    "read /etc/passwd": false,
    "write /tmp/x": false,
    "env HOME": false,
    "listen port": false,
    "write state dir": true,
    "listen unix socket": true,
  },
};

/** Where the probe runs: a scratch state dir, socket and port of the caller's choosing. */
export interface ProbeScene {
  readonly stateDir: string;
  readonly socket: string;
  readonly port: number;
}

/** Runs the probe under a command's exact flags and returns what each attempt got. */
export async function runReceiverProbe(
  command: ReceiverCommand,
  scene: ProbeScene,
): Promise<Record<string, string>> {
  const output = await new Deno.Command(command.command, {
    args: [
      ...command.args.slice(0, command.denoFlags.length),
      RECEIVER_PROBE,
      scene.stateDir,
      command.command,
      scene.socket,
      `${scene.port}`,
    ],
    clearEnv: true,
    env: { ...command.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (output.code !== 0) {
    throw new Error(`the probe failed: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** What the probe's outcomes break of a process's expectations (empty when all hold). */
export function receiverProbeProblems(
  process: ProbedProcess,
  results: Readonly<Record<string, string>>,
): string[] {
  const problems: string[] = [];
  for (const [attempt, allowed] of Object.entries(EXPECTED[process])) {
    const got = results[attempt];
    if (got === undefined) problems.push(`${process}: "${attempt}" was not tried`);
    else if (allowed && got !== "allowed") problems.push(`${process}: ${attempt}: ${got}`);
    else if (!allowed && !NOT_CAPABLE.test(got)) {
      problems.push(`${process}: ${attempt} was not refused by the runtime (${got})`);
    }
  }
  return problems;
}

/** Runs the check for both processes, each built for the given scene. */
export async function checkReceiverProbe(
  build: (scene: ProbeScene) => Record<ProbedProcess, ReceiverCommand>,
): Promise<CheckResult> {
  const stateDir = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "rootfence-audit-receiver-" }),
  );
  try {
    const scene = { stateDir, socket: `${stateDir}/executor.sock`, port: 58791 };
    const commands = build(scene);
    const problems: string[] = [];
    const evidence: Record<string, unknown> = {};
    for (const process of ["listener", "listener socket-activated", "executor"] as const) {
      try {
        const results = await runReceiverProbe(commands[process], scene);
        evidence[process] = results;
        problems.push(...receiverProbeProblems(process, results));
      } catch (error) {
        problems.push(`${process}: ${(error as Error).message}`);
      }
    }
    return result("receiver-probe", "Receiver live probe", problems, [
      "listener: runs nothing (deno eval -A refused), reads no file, reaches only its port",
      "listener socket-activated: the same, and may not listen on any port",
      "executor: no IP address, no file outside its state, only its own binaries",
    ], evidence);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
}
