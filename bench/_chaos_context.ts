/**
 * What every chaos phase shares: its sizes, the resources it starts (temporary dirs, recording
 * fakes, real receivers) and their cleanup, and a timed fake host command that logs when each
 * run starts and ends and whether an earlier run was still alive when it started.
 *
 * @module
 */
import { type FakeBin, fakeBin, shQuote } from "../tests/_fakes.ts";
import { type Receiver, startReceiver } from "../tests/_receiver.ts";
import { alive, descendants, groupOf, parentOf, signal, sleep } from "./_chaos_proc.ts";
import type { Figure } from "./_chaos_report.ts";

/** The system directories after the fakes on every receiver's bin path. */
export const SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/** How big the phases are. */
export interface Scale {
  readonly quick: boolean;
  /** Idle TCP connections held open against the listener. */
  readonly idleSockets: number;
  /** Connections that send part of a request and stop, of each kind (headers, body). */
  readonly halfSent: number;
  /** When (seconds after opening them) to count hostile connections closed by the server. */
  readonly checkpoints: readonly number[];
  /** Triggers of the load phase's burst, and the connections both its rounds go over. */
  readonly loadRequests: number;
  /** Triggers of the load phase's round with `Prefer: wait` (each one runs its job). */
  readonly waitRequests: number;
  readonly loadConnections: number;
  /** Triggers the flooding key sends. */
  readonly floodRequests: number;
}

/** The sizes of a full run, and of `--quick`. */
export function scaleOf(quick: boolean): Scale {
  return quick
    ? {
      quick,
      idleSockets: 500,
      halfSent: 50,
      checkpoints: [5, 15],
      loadRequests: 400,
      waitRequests: 100,
      loadConnections: 32,
      floodRequests: 100,
    }
    : {
      quick,
      idleSockets: 3000,
      halfSent: 200,
      checkpoints: [5, 15, 35],
      loadRequests: 2000,
      waitRequests: 500,
      loadConnections: 32,
      floodRequests: 300,
    };
}

/** Collects a phase's figures as it measures them, so a phase that fails keeps what it had. */
export class Sheet {
  readonly figures: Figure[] = [];

  /** Records one figure; returns its value. */
  add<T extends number | string>(
    name: string,
    value: T,
    unit?: string,
    target?: Figure["target"],
  ): T {
    this.figures.push({
      name,
      value,
      ...(unit === undefined ? {} : { unit }),
      ...(target === undefined ? {} : { target }),
    });
    return value;
  }
}

/** A receiver the phase started, with the starter's pid found from the executor's parent. */
export interface PhaseReceiver extends Receiver {
  /** `runtime/server/start.ts` (the child of `deno task`). */
  readonly starterPid: number;
}

/**
 * The resources of one phase. Whatever it starts is ended by {@linkcode Phase.close}, even when
 * the phase failed half-way: receivers are stopped (then killed with every process below
 * them), process groups a fake left behind are killed, and temporary dirs are removed.
 */
export class Phase {
  readonly scale: Scale;
  readonly sheet: Sheet = new Sheet();
  readonly #cleanups: (() => Promise<unknown> | unknown)[] = [];

  /** @param scale The run's sizes. */
  constructor(scale: Scale) {
    this.scale = scale;
  }

  /** Runs `cleanup` when the phase closes (last registered, first run). */
  defer(cleanup: () => Promise<unknown> | unknown): void {
    this.#cleanups.push(cleanup);
  }

  /** A temporary directory of this phase's own. */
  async tempDir(name: string): Promise<string> {
    const dir = await Deno.makeTempDir({ prefix: `rootfence-chaos-${name}-` });
    this.defer(() => Deno.remove(dir, { recursive: true }).catch(() => undefined));
    return dir;
  }

  /** A folder of recording fakes; the process groups of their timed runs are killed at close. */
  async fakes(): Promise<FakeBin> {
    const fakes = await fakeBin();
    this.defer(async () => {
      for await (const entry of Deno.readDir(fakes.dir)) {
        if (!entry.name.endsWith(".pids")) continue;
        const text = await Deno.readTextFile(`${fakes.dir}/${entry.name}`);
        for (const pid of text.split("\n").filter(Boolean).map(Number)) killTree(pid);
      }
      await fakes.remove().catch(() => undefined);
    });
    return fakes;
  }

  /** Starts a real receiver (`deno task start --port 0`, the listener as root). */
  async receiver(stateDir: string, args: readonly string[] = []): Promise<PhaseReceiver> {
    const receiver = await startReceiver(stateDir, ["--listener-user", "root", ...args]);
    const starterPid = parentOf(receiver.pid) ?? NaN;
    this.defer(() => endReceiver(receiver, starterPid));
    return Object.assign(receiver, { starterPid });
  }

  /** Ends everything the phase started, in reverse order; never throws. */
  async close(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // best effort: the next cleanup still runs
      }
    }
  }
}

/** Kills a process's group (when it leads one) and the process itself. */
function killTree(pid: number): void {
  if (!alive(pid)) return;
  const pgid = groupOf(pid);
  if (pgid !== undefined && pgid > 1 && pgid !== Deno.pid) signal(-pgid, "SIGKILL");
  signal(pid, "SIGKILL");
}

/**
 * A normal stop for five seconds; then everything still below the starter is killed, with the
 * process groups of fenced children (which live in groups of their own).
 */
async function endReceiver(receiver: Receiver, starterPid: number): Promise<void> {
  const stopped = receiver.stop().then(() => true, () => true);
  if (await Promise.race([stopped, sleep(5000).then(() => false)])) return;
  if (Number.isFinite(starterPid)) {
    for (const pid of descendants(starterPid).reverse()) killTree(pid);
    signal(starterPid, "SIGKILL");
  }
  for (const pid of [receiver.pid, receiver.listenerPid]) signal(pid, "SIGKILL");
  await Promise.race([stopped, sleep(5000)]);
}

/** One run of a timed fake. */
export interface TimedRun {
  readonly pid: number;
  /** Seconds since the epoch. */
  readonly start: number;
  /** Absent when the run never reached its end (it was killed). */
  readonly end?: number;
  /** Its arguments. */
  readonly args: string;
  /** Earlier runs of the same fake that were still alive when this one started. */
  readonly overlapped: readonly number[];
}

/** Where a timed fake logs. */
export interface TimedFake {
  readonly log: string;
  readonly pids: string;
}

/** What a timed fake does. */
export interface TimedFakeOptions {
  /** How long each run sleeps, in seconds (a sh word: `3`, or `$1`-based). */
  readonly seconds: number;
  /** What it prints on stdout when it ends. @default {""} */
  readonly output?: string;
  /** A sh fragment run after the start is logged, before the sleep. @default {""} */
  readonly before?: string;
}

/**
 * Writes a fake `name` that, before anything else, notes every earlier run of itself that is
 * still alive (not a zombie): an exact overlap check made by the kernel's own process table.
 */
export async function timedFake(
  fakes: FakeBin,
  name: string,
  options: TimedFakeOptions,
): Promise<TimedFake> {
  const log = `${fakes.dir}/${name}.log`;
  const pids = `${fakes.dir}/${name}.pids`;
  const { seconds, output = "", before = "" } = options;
  await fakes.write(
    name,
    [
      `seen=""`,
      `for p in $(cat ${shQuote(pids)} 2>/dev/null); do`,
      `  if [ -r /proc/$p/stat ] && ! grep -q '^State:[[:space:]]*[ZX]' /proc/$p/status 2>/dev/null; then seen="$seen,$p"; fi`,
      `done`,
      `echo $$ >> ${shQuote(pids)}`,
      `echo "start $(date +%s.%N) $$ \${seen#,} $*" >> ${shQuote(log)}`,
      before,
      `sleep ${seconds}`,
      `echo "end $(date +%s.%N) $$" >> ${shQuote(log)}`,
      output === "" ? "" : `printf '%s' ${shQuote(output)}`,
    ].join("\n"),
  );
  return { log, pids };
}

/** The runs a timed fake logged so far, in start order. */
export async function timedRuns(fake: TimedFake): Promise<TimedRun[]> {
  const text = await Deno.readTextFile(fake.log).catch(() => "");
  const runs = new Map<number, TimedRun>();
  for (const line of text.split("\n").filter(Boolean)) {
    const [what, at, pid, ...rest] = line.split(" ");
    if (what === "start") {
      const [seen = "", ...args] = rest;
      runs.set(Number(pid), {
        pid: Number(pid),
        start: Number(at),
        args: args.join(" "),
        overlapped: seen.split(",").filter(Boolean).map(Number),
      });
    } else if (what === "end") {
      const run = runs.get(Number(pid));
      if (run !== undefined) runs.set(run.pid, { ...run, end: Number(at) });
    }
  }
  return [...runs.values()].sort((a, b) => a.start - b.start);
}

/** One fault of the chaos run: how it is set up, what it promises, and the phase that runs it. */
export interface Fault {
  readonly id: string;
  readonly title: string;
  /** The set-up, in a sentence or three, at this run's sizes. */
  setup(scale: Scale): string;
  readonly promise: string;
  /** Why it cannot run here, when it cannot. */
  skip?(): Promise<string | undefined>;
  /** Runs the fault, recording figures on `phase.sheet`; returns the observed outcome. */
  run(phase: Phase): Promise<string>;
}
