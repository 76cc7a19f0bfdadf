/**
 * The bench's figures as tables: the terminal summary, the targets of issue 12 judged on them,
 * and BENCHMARKS.md, every figure from the one run.
 *
 * @module
 */
import type { Breakdown } from "./breakdown.ts";
import type { Floors } from "./floors.ts";
import type { ProcessMemory } from "./systems.ts";
import type { WrkResult } from "./wrk.ts";

/** One system at one concurrency, from the Deno client. */
export interface Row {
  system: string;
  workload: string;
  concurrency: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  rps: number;
}

/** What one wrk round measured of one system. */
export interface RoundFigures {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly rps: number;
}

/** One wrk run, and the CPU its system used per request, by process role. */
export type WrkRow = WrkResult & {
  system: string;
  workload: string;
  concurrency: number;
  cpuMsPerRequest: Record<string, number>;
  /** Each round's figures, in the order the rounds ran (every system took each round in turn). */
  rounds: readonly RoundFigures[];
  /** How its runs held their resource keys, from rootfence's journal (rootfence only). */
  held?: HeldRuns;
};

/**
 * How the runs of one op held their resource keys during a system's wrk rounds: rootfence runs
 * jobs that share a key one at a time, so for a workload on one key (one disk) these bound its
 * req/s at any concurrency.
 */
export interface HeldRuns {
  /** Jobs that ran their own host command in the rounds. */
  readonly runs: number;
  /** Mean ms from a job's start to its end, the time it held its keys. */
  readonly runMs: number;
  /** Mean ms of its host command, as the fenced child timed it. */
  readonly commandMs: number;
  /** Share of wrk's time in which a run held them (1 when one always did). */
  readonly busy: number;
}

/** One wrk round's runs, and when wrk ran (ms since the epoch). */
export interface HeldRound {
  readonly start: number;
  readonly end: number;
  readonly runs: readonly JournaledRun[];
}

/** One job as the journal has it: start and end in ms, its result as stored. */
export interface JournaledRun {
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly result: string | null;
}

/**
 * What the runs of wrk's rounds (ran one at a time) say of the time their keys were held:
 * `busy` counts each run's part inside its round's wrk run; `undefined` with no runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const result = (ms: number) => JSON.stringify({ command: { durationMs: ms } });
 * const held = heldRuns([{
 *   start: 0,
 *   end: 40,
 *   runs: [
 *     { startedAt: 0, finishedAt: 10, result: result(8) },
 *     { startedAt: 10, finishedAt: 22, result: result(9) },
 *   ],
 * }]);
 * assert.deepEqual(held, { runs: 2, runMs: 11, commandMs: 8.5, busy: 0.55 });
 * ```
 */
export function heldRuns(rounds: readonly HeldRound[]): HeldRuns | undefined {
  let runs = 0;
  let held = 0;
  let inside = 0;
  let wrk = 0;
  let command = 0;
  let timed = 0;
  for (const round of rounds) {
    wrk += round.end - round.start;
    for (const job of round.runs) {
      runs++;
      held += job.finishedAt - job.startedAt;
      inside += Math.max(
        0,
        Math.min(job.finishedAt, round.end) - Math.max(job.startedAt, round.start),
      );
      const ms = (JSON.parse(job.result ?? "null") as { command?: { durationMs?: unknown } } | null)
        ?.command?.durationMs;
      if (typeof ms === "number") {
        command += ms;
        timed++;
      }
    }
  }
  if (runs === 0) return undefined;
  return {
    runs,
    runMs: held / runs,
    commandMs: timed === 0 ? NaN : command / timed,
    busy: inside / wrk,
  };
}

/** 32 monitors polling one op, and how many host runs answered them. */
export type CoalescedRow = Row & { hostRuns: number };

/** The machine's load average at a point of the run. */
export interface LoadSample {
  readonly label: string;
  readonly at: string;
  readonly loadavg: string;
}

/** Memory of the receiver with many requests in flight. */
export interface UnderLoad {
  readonly mode: "no-cache" | "shared";
  readonly inFlight: number;
  readonly peakRssMiB: number;
  readonly peakPssMiB: number;
  readonly statuses: Record<string, number>;
}

/** A target of the issue and whether this run met it. */
export interface Target {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
  /** The same figure for the fence's shape with no work, which no change to the app beats. */
  readonly shape: string;
  /** The same for the shape doing only the work no receiver can skip (`bench/shape/work.ts`). */
  readonly work: string;
}

/** Everything one run measured. */
export interface BenchResults {
  readonly info: Record<string, string>;
  readonly sizes: Record<string, number>;
  readonly load: readonly LoadSample[];
  readonly rows: readonly Row[];
  readonly wrk: readonly WrkRow[];
  readonly coalesced: readonly CoalescedRow[];
  readonly breakdown: Breakdown;
  readonly floors: Floors;
  readonly memory: {
    readonly idle: readonly ProcessMemory[];
    /** Once the receiver has run {@linkcode REST_MS} with nothing sent. */
    readonly atRest: readonly ProcessMemory[];
    readonly afterRuns: readonly ProcessMemory[];
    readonly underLoad: readonly UnderLoad[];
    readonly flood: {
      readonly before: { nowMiB: number } | undefined;
      readonly after: { peakMiB: number } | undefined;
      readonly error: string;
    };
  };
  targets: Target[];
}

const sum = (processes: readonly ProcessMemory[], key: "rssMiB" | "pssMiB") =>
  processes.reduce((total, p) => total + p[key], 0);

const mib = (value: number) => `${value.toFixed(1)} MiB`;

function wrkOf(
  r: BenchResults,
  system: string,
  c: number,
  workload = "sensors",
): WrkRow | undefined {
  return r.wrk.find((w) => w.system === system && w.workload === workload && w.concurrency === c);
}

/** How long the receiver runs untouched before its memory at rest is sampled. */
export const REST_MS = 45_000;

/** A target on one wrk figure, judged against the peer's figure of the same run. */
export interface WrkTarget {
  readonly target: string;
  readonly workload: string;
  readonly concurrency: number;
  /** The figure, as the table shows it. */
  figure(of: RoundFigures): string;
  /** A system's figure against the peer's: a ratio or a difference. */
  compare(ours: RoundFigures, peer: RoundFigures): number;
  /** A compared figure, as the table shows it. */
  format(compared: number): string;
  /** Whether a compared figure meets the target. */
  meets(compared: number): boolean;
}

// Three decimals, so a ratio just under a target never reads as on it (0.798 is not 0.80).
const ratio = (value: number) => `${value.toFixed(3)} x`;
const rps = (of: RoundFigures) => String(of.rps);

/** req/s at 32 connections, at least 0.8 x webhook's. */
function throughput(workload: string, binary: string): WrkTarget {
  return {
    target: `${workload} req/s at c=32 >= 0.8 x webhook, every request running ${binary} (wrk)`,
    workload,
    concurrency: 32,
    figure: rps,
    compare: (ours, peer) => ours.rps / peer.rps,
    format: ratio,
    meets: (compared) => compared >= 0.8,
  };
}

/** The targets of issue 12 on wrk's figures, with `no-cache`: every request runs the binary. */
export const WRK_TARGETS: readonly WrkTarget[] = [
  {
    target: "sensors p50 at c=1 <= 1.3 x webhook (wrk)",
    workload: "sensors",
    concurrency: 1,
    figure: (of) => `${of.p50Ms} ms`,
    compare: (ours, peer) => ours.p50Ms / peer.p50Ms,
    format: ratio,
    meets: (compared) => compared <= 1.3,
  },
  {
    target: "sensors p99 at c=1 <= webhook p99 + 3 ms (wrk)",
    workload: "sensors",
    concurrency: 1,
    figure: (of) => `${of.p99Ms} ms`,
    // wrk's figures have two decimals: so has their difference (6.03 - 3.03 is 3, not 3.0000001).
    compare: (ours, peer) => +(ours.p99Ms - peer.p99Ms).toFixed(2),
    format: (difference) => `${signed(difference)} ms`,
    meets: (compared) => compared <= 3,
  },
  throughput("sensors", "the binary"),
  throughput("smart", "the fake binary"),
];

/** A system's figures over the whole run, and round by round. */
export type RunFigures = RoundFigures & { readonly rounds: readonly RoundFigures[] };

/**
 * A system's figure for a target, over the whole run and round by round. Each round is compared
 * with the peer's in the same round (the systems took it in turn, so drift between rounds
 * cancels out); the spread says how far this machine's noise moves the verdict, which stays the
 * whole run's.
 */
export function judgeRounds(
  target: WrkTarget,
  ours: RunFigures,
  peer: RunFigures,
): { text: string; met: boolean } {
  const compared = target.compare(ours, peer);
  // A peer that answered nothing (0 req/s) gives no ratio to judge: that is no target met.
  if (!Number.isFinite(compared)) {
    return { text: `${target.figure(ours)} (webhook's is ${target.figure(peer)})`, met: false };
  }
  const whole = `${target.figure(ours)} (${target.format(compared)})`;
  const paired = ours.rounds.slice(0, peer.rounds.length)
    .map((round, i) => target.compare(round, peer.rounds[i]!))
    .filter((value) => Number.isFinite(value));
  const met = target.meets(compared);
  if (paired.length < 2) return { text: whole, met };
  const metIn = paired.filter((value) => target.meets(value)).length;
  const low = target.format(Math.min(...paired));
  const high = target.format(Math.max(...paired));
  return { text: `${whole}; rounds ${low} to ${high}, met in ${metIn} of ${paired.length}`, met };
}

/**
 * The targets of issue 12, on the wrk rows (as the issue measured) with `no-cache`: every
 * request runs the binary. Memory counts every process `deno task start` runs.
 */
export function judgeTargets(r: BenchResults): Target[] {
  const fewest = 2 + r.memory.idle.filter((p) => p.role.startsWith("child")).length;
  const floorRss = fewest * r.floors.denoRssMiB;
  const idleRss = sum(r.memory.atRest, "rssMiB");
  const idlePss = sum(r.memory.atRest, "pssMiB");
  const loaded = r.memory.underLoad.reduce(
    (worst, u) => u.peakRssMiB > worst.peakRssMiB ? u : worst,
    r.memory.underLoad[0]!,
  );
  const targets: Target[] = [];
  for (const target of WRK_TARGETS) {
    const [ours, peer, shape, work] = ["rootfence", "webhook", "shape", "shape+work"]
      .map((system) => wrkOf(r, system, target.concurrency, target.workload));
    if (!ours || !peer || !shape || !work) continue;
    const judged = judgeRounds(target, ours, peer);
    targets.push({
      target: target.target,
      measured: `${judged.text}; webhook ${target.figure(peer)}`,
      met: judged.met,
      shape: judgeRounds(target, shape, peer).text,
      work: judgeRounds(target, work, peer).text,
    });
  }
  targets.push(
    {
      target: "idle RSS of all rootfence processes <= 120 MiB",
      measured: `${mib(idleRss)} RSS (${
        mib(idlePss)
      } PSS) in ${r.memory.atRest.length} processes, at rest`,
      met: idleRss <= 120,
      shape: `at least ${mib(floorRss)} RSS: ${fewest} idle Deno processes (see Floors)`,
      work: "the same",
    },
    {
      target: `all rootfence processes with ${loaded.inFlight} requests in flight <= 250 MiB`,
      measured: `peak ${mib(loaded.peakRssMiB)} RSS (${
        mib(loaded.peakPssMiB)
      } PSS), ${loaded.mode}`,
      met: loaded.peakRssMiB <= 250,
      // Four runs at once, as the defaults allow, need four children of the op: three more.
      shape: `at least ${
        mib(floorRss + 3 * r.floors.denoRssMiB)
      } RSS with 4 runs at once (the \`no-cache\` row): ${fewest + 3} Deno processes`,
      work: "the same",
    },
  );
  return targets;
}

function signed(value: number): string {
  return `${value >= 0 ? "+" : ""}${value.toFixed(2)}`;
}

/** The terminal summary. */
export function renderTable(
  rows: readonly Row[],
  wrk: readonly WrkRow[],
  coalesced: readonly CoalescedRow[],
): string {
  const head = ["client", "workload", "c", "system", "n", "err", "p50", "p90", "p99", "req/s"];
  const body = [
    ...rows.map((r) => ["deno", r.workload, r.concurrency, r.system, r.requests, r.errors, r]),
    ...wrk.map((r) => ["wrk", r.workload, r.concurrency, r.system, r.requests, r.socketErrors, r]),
    ...coalesced.map((
      r,
    ) => ["poll", r.workload, r.concurrency, r.system, r.requests, r.errors, r]),
  ].map(([client, workload, c, system, n, err, r]) => {
    const x = r as Row;
    return [
      String(client),
      String(workload),
      String(c),
      String(system),
      String(n),
      String(err),
      x.p50Ms.toFixed(2),
      x.p90Ms.toFixed(2),
      x.p99Ms.toFixed(2),
      x.rps.toFixed(1),
    ];
  });
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((row) => row[i]!.length)));
  return [head, ...body].map((row) => row.map((c, i) => c.padStart(widths[i]!)).join("  "))
    .join("\n");
}

/**
 * What bounds rootfence's `smart` row at 32 connections (`row`), from its journal: its reads of the
 * one device ran one at a time, so it answers at most one per run time. Empty without figures.
 */
export function heldNote(
  row: { readonly rps: number; readonly held?: HeldRuns } | undefined,
  peer?: { readonly rps: number },
): string {
  const held = row?.held;
  if (row === undefined || held === undefined) return "";
  // The host command alone, as the child timed it: a bound no cut around it can raise.
  const bound = 1000 / held.commandMs;
  const against = peer === undefined ? "" : ` The host command alone, as the fenced child timed it
under this load, allows at most ${bound.toFixed(1)} req/s one read at a time (1000 / ${
    held.commandMs.toFixed(2)
  }), ${(bound / peer.rps).toFixed(3)} x webhook's ${peer.rps.toFixed(1)}: ${
    bound < 0.8 * peer.rps
      ? "below the 0.8 x target, which one read at a time of this workload does not reach on this\nmachine."
      : "the 0.8 x target is within that bound."
  }`;
  return `

In this run rootfence's SMART reads at 32 connections held the device ${
    (held.busy * 100).toFixed(0)
  }% of wrk's time (journal: ${held.runs} runs). A read held it ${held.runMs.toFixed(2)} ms from
its start to its end, ${
    held.commandMs.toFixed(2)
  } ms of that the host command as the fenced child timed it (the fake \`smartctl\`: a shell and
\`cat\`, with its spawn); the other ${
    (held.runMs - held.commandMs).toFixed(2)
  } ms are the request to the child, its reply and the journal. One read at a time allows at most ${
    (1000 / held.runMs).toFixed(1)
  } req/s (1000 / ${held.runMs.toFixed(2)}); rootfence answered ${row.rps.toFixed(1)}.${against}`;
}

function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((row) => `| ${row.map(String).join(" | ")} |`),
  ].join("\n");
}

function ratios(r: BenchResults): string {
  const rows: unknown[][] = [];
  for (const workload of [...new Set(r.rows.map((x) => x.workload))]) {
    for (const c of [1, 8, 32]) {
      const get = (s: string) =>
        r.rows.find((x) => x.system === s && x.workload === workload && x.concurrency === c);
      const [f, w, x] = [get("floor"), get("webhook"), get("rootfence")];
      if (!f || !w || !x) continue;
      rows.push([
        `${workload}@c${c}`,
        (x.p50Ms / f.p50Ms).toFixed(2),
        (x.p50Ms / w.p50Ms).toFixed(2),
        signed(x.p99Ms - w.p99Ms),
        (x.rps / f.rps).toFixed(2),
        (x.rps / w.rps).toFixed(2),
      ]);
    }
  }
  return table(
    ["workload@c", "p50 / floor", "p50 / peer", "p99 − peer (ms)", "req/s / floor", "req/s / peer"],
    rows,
  );
}

function processTable(processes: readonly ProcessMemory[]): string {
  return table(
    ["process", "RSS MiB", "PSS MiB"],
    [
      ...processes.map((p) => [p.role, p.rssMiB.toFixed(1), p.pssMiB.toFixed(1)]),
      [
        "**all**",
        `**${sum(processes, "rssMiB").toFixed(1)}**`,
        `**${sum(processes, "pssMiB").toFixed(1)}**`,
      ],
    ],
  );
}

/** Idle memory by pool choice, from the measured processes: what each child adds. */
function tradeOff(idle: readonly ProcessMemory[]): string {
  const base = idle.filter((p) => !p.role.startsWith("child"));
  const children = idle.filter((p) => p.role.startsWith("child"));
  const child = {
    rss: children.length ? sum(children, "rssMiB") / children.length : NaN,
    pss: children.length ? sum(children, "pssMiB") / children.length : NaN,
  };
  const receiver = base.filter((p) => p.role === "listener" || p.role === "executor");
  const line = (what: string, list: readonly ProcessMemory[], n: number) => [
    what,
    (sum(list, "rssMiB") + n * child.rss).toFixed(1),
    (sum(list, "pssMiB") + n * child.pss).toFixed(1),
  ];
  const ops = children.length;
  return table(["idle state", "RSS MiB", "PSS MiB"], [
    line(`defaults: one warm child per op with binaries (${ops} here)`, base, ops),
    line("lazy mutating ops: warm children for smart and sensors only", base, 2),
    line("fully lazy: no child until an op is used (first request cold)", base, 0),
    line(`listener + executor only (systemd units, no starter), ${ops} children`, receiver, ops),
    line("listener + executor only, no child", receiver, 0),
    line(`a busy pool (4 per read-only op, after a burst, for --pool-idle)`, base, 8 + ops - 2),
  ]);
}

/** What no change to rootfence can go below here, next to what the targets ask. */
function floorTable(r: BenchResults): string {
  const f = r.floors;
  const ops = r.memory.idle.filter((p) => p.role.startsWith("child")).length;
  const fewest = 2 + ops;
  return table(["floor", "measured"], [
    [
      "one idle Deno process (`deno eval`, after 1 s)",
      `${f.denoRssMiB} MiB RSS, ${f.denoPssMiB} MiB PSS`,
    ],
    [
      `the fewest processes the fence needs at rest: listener, executor, one warm child per op ` +
      `with its binaries (${ops} here), each at least that`,
      `${fewest} × ${f.denoRssMiB} = ${(fewest * f.denoRssMiB).toFixed(1)} MiB RSS ` +
      `(${(fewest * f.denoPssMiB).toFixed(1)} MiB PSS) against the 120 MiB target`,
    ],
    [
      "Unix-socket connect, one 400-byte line each way, close (p50): one listener-executor hop",
      `${f.connectMs} ms`,
    ],
    [
      "the same line on a kept connection (p50): what persistent bridge connections would save",
      `${f.reusedMs} ms (saves ${(f.connectMs - f.reusedMs).toFixed(3)} ms a request)`,
    ],
    [
      "every journal write of a read-only job, p99, SQLite's own checkpoint in the commit",
      `${f.journalP99InlineMs} ms`,
    ],
    [
      "the same with the executor's checkpoint thread (`journal_checkpoint.ts`)",
      `${f.journalP99BackgroundMs} ms`,
    ],
  ]);
}

/** BENCHMARKS.md. */
export function renderMarkdown(r: BenchResults): string {
  const { sizes, breakdown: parts } = r;
  const rows = table(
    ["workload", "c", "system", "requests", "errors", "p50 ms", "p90 ms", "p99 ms", "req/s"],
    r.rows.map((
      x,
    ) => [
      x.workload,
      x.concurrency,
      x.system,
      x.requests,
      x.errors,
      x.p50Ms,
      x.p90Ms,
      x.p99Ms,
      x.rps,
    ]),
  );
  const wrk = table(
    [
      "workload",
      "c",
      "system",
      "requests",
      "answers",
      "socket errors",
      "p50 ms",
      "p90 ms",
      "p99 ms",
      "max ms",
      "req/s",
    ],
    r.wrk.map((x) => [
      x.workload,
      x.concurrency,
      x.system,
      x.requests,
      `\`${JSON.stringify(x.statuses)}\``,
      x.socketErrors,
      x.p50Ms,
      x.p90Ms,
      x.p99Ms,
      x.maxMs,
      x.exhausted > 0 ? `${x.rps} (ran out of requests: at least)` : x.rps,
    ]),
  );
  const coalesced = table(
    [
      "workload",
      "system",
      "requests",
      "host runs",
      "errors",
      "p50 ms",
      "p90 ms",
      "p99 ms",
      "req/s",
    ],
    r.coalesced.map((
      x,
    ) => [
      x.workload,
      x.system,
      x.requests,
      x.hostRuns,
      x.errors,
      x.p50Ms,
      x.p90Ms,
      x.p99Ms,
      x.rps,
    ]),
  );
  const targets = table(
    ["target", "measured", "met", "the fence's shape, no work", "the shape with the work"],
    r.targets.map((t) => [t.target, t.measured, t.met ? "yes" : "**no**", t.shape, t.work]),
  );
  const r1 = r.wrk.find((x) =>
    x.system === "rootfence" && x.workload === "sensors" && x.concurrency === 1
  );
  const breakdown = table(["component (sensors, one request at a time)", "p50 ms"], [
    ["bare spawn of `sensors -j` from Deno (the floor)", parts.bareSpawnMs],
    [
      "the same through a pooled fenced child (JSON over pipes, zod in the child, its spawn)",
      parts.fencedInvokeMs,
    ],
    ["so the fence itself adds", parts.fenceOverheadMs],
    [
      "every journal write of a read-only job whose client waits (held, one write at its end; " +
      "`synchronous=NORMAL`)",
      parts.journalJobMs,
    ],
    [
      "the executor's whole app in-process (signature, validation, journal, scheduler, pooled " +
      "invocation, JSON)",
      parts.appMs,
    ],
    ["so the app adds, beyond the fenced invocation and the journal", parts.appOverheadMs],
    [
      "the receiver itself, through the listener and its own executor (wrk's p50)",
      r1?.p50Ms ?? NaN,
    ],
  ]);
  const label = (role: string) =>
    ({
      "webhook children": "host binary (run by webhook)",
      "fenced children children": "host binary (run by the fenced children)",
      "executor children": "retired children and kill (reaped by the executor)",
    } as Record<string, string>)[role] ?? role;
  const cpuRows = r.wrk.filter((x) => x.concurrency === 32).map((x) => {
    const entries = Object.entries(x.cpuMsPerRequest).map(([role, ms]) =>
      [label(role), ms] as const
    )
      .sort(([, a], [, b]) => b - a);
    const all = entries.reduce((t, [, ms]) => t + ms, 0);
    return [
      x.workload,
      x.system,
      all.toFixed(2),
      entries.map(([role, ms]) => `${role} ${ms.toFixed(2)}`).join("; "),
    ];
  });
  const cpu = table(["workload", "system", "CPU ms per request", "by process"], cpuRows);
  const under = table(
    ["requests", "in flight", "peak RSS MiB (all processes)", "peak PSS MiB", "answers"],
    r.memory.underLoad.map((u) => [
      u.mode === "no-cache" ? "`no-cache` (each wants its own run)" : "as monitors send them",
      u.inFlight,
      u.peakRssMiB.toFixed(1),
      u.peakPssMiB.toFixed(1),
      `\`${JSON.stringify(u.statuses)}\``,
    ]),
  );
  const growth = (r.memory.flood.after?.peakMiB ?? NaN) - (r.memory.flood.before?.nowMiB ?? NaN);
  const loads = r.load.map((l) => `${l.label} ${l.loadavg}`).join("; ");
  return `# Benchmarks

Generated by \`deno task bench\` (see \`bench/\`). Every figure below is from that one run, as
measured, including the targets it misses.

${Object.entries(r.info).map(([k, v]) => `- ${k}: ${v}`).join("\n")}
- load average (1, 5, 15 min) during the run: ${loads}. It counts this machine's runnable
  processes, the bench's own among them (at 32 connections a system under test keeps several
  busy), so during the run it says little by itself. The host's two cores are also shared with
  other guests, which it does not show: they move figures from round to round (see each target's
  rounds).
- Deno client: ${sizes.latency} requests per system at concurrency 1, ${sizes.throughput} at 8
  and at 32, after ${sizes.warm} warm-up requests, interleaved in ${sizes.rounds} rounds (floor,
  webhook, rootfence, then again) so machine drift hits all three alike
- wrk: ${sizes.wrkSeconds} s per system at 1 and at 32 connections, in ${sizes.rounds} rounds of
  ${sizes.wrkSeconds! / sizes.rounds!} s taken in turn (webhook, shape, shape+work, rootfence, then
  again), each request sent once (signed beforehand); counts add up over the rounds, and each
  percentile is the median of the rounds' (wrk reports percentiles, not samples);
  ${sizes.polls} polls for the monitor rows

## What is compared

Every system runs with its defaults.

- **floor**: the host binary spawned directly from the Deno client (\`sensors -j\`, the real
  Debian lm-sensors, which exits 1 here because this VM has no sensors; and a fake \`smartctl\`
  that prints a real capture, \`nvme-samsung-970evo-plus-250g-7.3.json\`).
- **webhook**: Debian's \`webhook\` ${
    r.info.webhook?.replace("webhook version ", "")
  }, one hook per workload with a
  \`payload-hmac-sha256\` rule on \`X-Hub-Signature-256\`, running the same binary with the same
  arguments, output in the response.
- **rootfence**: \`deno task start\` with no options (4 running ops, 64 queued, up to 4 children
  per read-only op, one kept warm), a signed Standard Webhooks \`POST /hooks/<op>\` with
  \`Prefer: wait\`, through the listener, the executor and a pooled fenced child, journaled.
  The apples-to-apples rows send \`Cache-Control: no-cache\`, so every request runs the binary,
  as every peer request does.
  rootfence runs one SMART read per device at a time (the README's Limits), so its \`smart\`
  rows, all on one device, are bound by one run's latency at any concurrency; webhook and the
  shapes run them side by side.
- **shape** (wrk rows only): the fence's process layout doing no work (\`bench/shape/\`): a
  node:http listener, a kept Unix connection to an executor, a pooled Deno child (four per
  workload) holding a run grant on its binary alone, and the binary, output in the response. No
  signature, schema, journal, scheduling or log. What it measures, no change to rootfence's app
  can beat; the gap between it and rootfence is what the app costs.
- **shape+work** (wrk rows only): the same layout doing only the work no receiver of signed
  requests can skip (\`bench/shape/work.ts\`), with rootfence's own functions where there is one:
  the Standard Webhooks signature, the bridge line's and the op's input schemas, the body's hash
  and a delivery lookup (no run twice), the child's reply schema, one SQLite commit per job in
  WAL (\`synchronous=NORMAL\`, as a read-only job's), one log line; in the child, the op's input
  schema and its own output parser. The listener forwards without a schema. No framework, scheduler, streaming, idempotent replay,
  coalescing, metrics or events. The gap between it and rootfence is what those cost; the gap
  between it and the shape is the work itself.

## Latency and throughput: wrk, every request runs the binary

${wrk}

## Latency and throughput: Deno client, every request runs the binary

${rows}

${ratios(r)}

## Targets

Each wrk target is judged on the whole run. Beside it, each round's figure against webhook's in the
same round (the systems took every round in turn): how far this machine's drift moves the verdict,
and in how many rounds the target held. \`smart\` reads one device, and rootfence runs one SMART
read per device at a time (the README's Limits), so its row is bound by one run's latency; webhook
and the shapes run them side by side.${
    heldNote(wrkOf(r, "rootfence", 32, "smart"), wrkOf(r, "webhook", 32, "smart"))
  }

${targets}

## 32 monitors polling one op

The same op and input from 32 connections at once, without \`Cache-Control\`: identical reads that
arrive while an identical run is still queued share it (each keeps its own job; \`servedBy\` names
the run), so rootfence runs the binary far less often than it answers. The peer runs it for every
request. "host runs" for rootfence counts the distinct \`servedBy\` of the answers.

${coalesced}

## Where rootfence's time goes (sensors, one request at a time)

${breakdown}

The bare spawn, the fenced invocation, the journal writes and the app are timed in turn in the
bench's own process, so drift hits them alike. That process also runs the launcher and the timing
beside the app, so the app in-process is no faster than the receiver's own executor: the listener's
hop cannot be had by taking one from the other. What the process layout costs, hop included, is the
shape's row in the wrk table.

At 32 connections both systems are bound by the two cores, so what a request costs in CPU
decides the req/s. CPU time per request during the wrk runs at 32 connections, from /proc
(a process that ended during the run counts under its parent, with what it used during the run):

${cpu}

## Memory

Every process \`deno task start\` runs, right after start with the pool pre-started (RSS counts
the Deno binary's shared pages once per process; PSS splits them between the processes):

${processTable(r.memory.idle)}

The same at rest, once the receiver has run ${
    REST_MS / 1000
  } s with nothing sent (V8 gives back what start-up
left about 30 s in; the idle target is judged on this):

${processTable(r.memory.atRest)}

The same after the runs above (the pool grown to the running limit for the read-only ops; the
extra children end after \`--pool-idle\` unused):

${processTable(r.memory.afterRuns)}

What other pool choices would cost at rest, from the figures above (each child as measured):

${tradeOff(r.memory.idle)}

## Floors on this machine

Measured in the same run: what one Deno process costs before it does anything, what the hop
between listener and executor costs with and without a kept connection, and the journal's tail
with either checkpoint.

${floorTable(r)}

Requests in flight against a fake \`sensors\` that sleeps 1 s, every process sampled every 100 ms:

${under}

A fake that floods 100 MiB on stdout: the job ends as \`${
    r.memory.flood.error.replace(/^Error: /, "")
  }\` (capped at 1 MiB in the child); listener and executor RSS grew ${growth.toFixed(1)} MiB.
`;
}
