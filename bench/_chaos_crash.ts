/**
 * Chaos faults 1 to 3: something dies mid-job with SIGKILL (the executor, or a fenced child),
 * and what was acknowledged must be neither lost nor run twice, and no host command may overlap
 * another on the same resource.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { sensors } from "../ops/sensors/mod.ts";
import { shQuote } from "../tests/_fakes.ts";
import {
  type Fault,
  type Phase,
  type PhaseReceiver,
  SYSTEM_PATH,
  type TimedFake,
  timedFake,
  type TimedRun,
  timedRuns,
} from "./_chaos_context.ts";
import {
  alive,
  goneAt,
  groupMembers,
  groupOf,
  health,
  parentOf,
  signal,
  until,
} from "./_chaos_proc.ts";

/** A `pct create` input; only the vmid matters to the scheduler. */
export const CREATE = {
  vmid: 9100,
  ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  storage: "local-lvm",
  rootfsGb: 8,
} as const;

/** What a healthy disk's `smartctl -a -j` says, as far as the op's parser needs. */
export const SMART_OK = '{"smartctl":{"exit_status":0},"smart_status":{"passed":true}}';

/** What a machine with one chip's `sensors -j` says. */
export const SENSORS_OK = '{"chip":{"Adapter":"x"}}';

const FINAL = new Set(["succeeded", "failed", "timed_out", "interrupted"]);

/** The deadline the executor journaled for a job's processes (ms since the epoch). */
function journaledDeadline(stateDir: string, jobId: string): number {
  const db = new DatabaseSync(`${stateDir}/journal.db`, { readOnly: true });
  try {
    const row = db.prepare("SELECT deadline FROM jobs WHERE id = ?").get(jobId) as
      | { deadline: number | null }
      | undefined;
    return row?.deadline ?? NaN;
  } finally {
    db.close();
  }
}

/** A job as read back through the API. */
interface JobView {
  readonly jobId: string;
  readonly status: string;
  readonly result?: {
    readonly error?: { readonly code?: string; readonly outcome?: string; processes?: string };
  };
}

/** Reads a job (`undefined` when the receiver does not know it). */
async function readJob(receiver: PhaseReceiver, id: string): Promise<JobView | undefined> {
  const response = await receiver.read(`/jobs/${id}`);
  if (response.status !== 200) {
    await response.body?.cancel();
    return undefined;
  }
  return await response.json();
}

/** Waits until a job is final (or `ms` passed) and returns it as last read. */
async function finalJob(receiver: PhaseReceiver, id: string, ms = 30_000) {
  let last: JobView | undefined;
  await until(
    async () => {
      last = await readJob(receiver, id);
      return last !== undefined && FINAL.has(last.status) ? true : undefined;
    },
    ms,
    200,
  );
  return last;
}

/** The letters of the n-th disk: a, b, ... z, aa, ab, ... */
export function diskName(n: number): string {
  return n < 26
    ? String.fromCharCode(97 + n)
    : diskName(Math.floor(n / 26) - 1) + String.fromCharCode(97 + (n % 26));
}

/**
 * How long two runs of a host command overlapped, in seconds. A run that finished has its
 * logged end; one that was killed counts as ending when it was seen gone, but only if the later
 * run's own check found it alive at its start (the poll that saw it gone lags by a few ms).
 */
export function overlapSeconds(first: TimedRun, next: TimedRun, firstGoneMs: number): number {
  if (first.end !== undefined) return Math.max(0, first.end - next.start);
  if (!next.overlapped.includes(first.pid)) return 0;
  return Math.max(0, firstGoneMs / 1000 - next.start);
}

async function started(fake: TimedFake, n: number, ms = 15_000): Promise<TimedRun[]> {
  const runs = await until(async () => {
    const seen = await timedRuns(fake);
    return seen.length >= n ? seen : undefined;
  }, ms);
  if (runs === undefined) throw new Error(`Cannot see ${n} run(s) of ${fake.log} start`);
  return runs;
}

/** 1. The executor killed with acknowledged jobs running and queued. */
export const executorKill: Fault = {
  id: "1",
  title: "kill -9 of the executor with acknowledged jobs running and queued",
  setup: () =>
    "`--max-running 3`. One `sensors` trigger whose fake sleeps 60 s (past the op's " +
    `${sensors.timeoutMs / 1000} s timeout, so a crash leaves it running as an orphan), then 16 ` +
    "`smart` triggers on /dev/sda to /dev/sdp whose fake smartctl takes 2 s: 3 run, 14 wait. Once " +
    "the fakes have started, the executor gets SIGKILL, and the same command line is started again " +
    "on the same state dir.",
  promise:
    "Every acknowledged (202) job is in the journal after the restart. Nothing runs twice: " +
    "running jobs come back `interrupted` and are not re-run, queued ones run once. The orphaned " +
    "`sensors` group is killed when its original deadline passes. The restarted receiver answers " +
    "`/healthz` within 5 s of being started.",
  async run(phase: Phase) {
    const s = phase.sheet;
    const fakes = await phase.fakes();
    await fakes.write("smartctl", `sleep 2\nprintf '%s' ${shQuote(SMART_OK)}`);
    const orphanFake = await timedFake(fakes, "sensors", { seconds: 60 });
    const stateDir = await phase.tempDir("kill9");
    const args = ["--bin-path", `${fakes.dir}:${SYSTEM_PATH}`, "--max-running", "3"];
    const first = await phase.receiver(stateDir, args);
    const acked: { id: string; op: string; device?: string }[] = [];
    const send = async (op: string, body: { device?: string }) => {
      const response = await first.send(op, body);
      const job = await response.json();
      if (response.status === 202) acked.push({ id: job.jobId, op, ...body });
    };
    await send("sensors", {});
    for (let i = 0; i < 16; i++) await send("smart", { device: `/dev/sd${diskName(i)}` });
    s.add("triggers sent", 17);
    s.add("jobs acknowledged (202)", acked.length);
    const [orphan] = await started(orphanFake, 1);
    await until(async () => (await fakes.calls("smartctl")).length >= 2 || undefined, 10_000);
    const gone = goneAt(orphan!.pid);
    await first.crash();
    const orphanJob = acked.find((job) => job.op === "sensors")?.id;
    const deadlineMs = journaledDeadline(stateDir, orphanJob ?? "");
    const restartAt = performance.now();
    const second = await phase.receiver(stateDir, args);
    const healthy = await until(
      async () => (await health(second.url, 1000)).status === 200 || undefined,
      30_000,
      20,
    );
    const recover = s.add(
      "seconds to recover (start of the new receiver until /healthz 200)",
      healthy ? (performance.now() - restartAt) / 1000 : NaN,
      "s",
      { op: "<=", value: 5 },
    );
    s.add("jobs recovered as interrupted", Number(second.ready.interrupted));
    s.add("jobs requeued", Number(second.ready.requeued));
    s.add("orphans found at restart", Number(second.ready.orphans));

    const finals = new Map<string, JobView | undefined>();
    for (const job of acked) finals.set(job.id, await finalJob(second, job.id));
    const journaled = [...finals.values()].filter((j) => j !== undefined).length;
    s.add("acknowledged jobs in the journal after the restart", journaled);
    const lost = s.add("acknowledged jobs lost", acked.length - journaled, undefined, {
      op: "==",
      value: 0,
    });
    const byStatus: Record<string, number> = {};
    for (const job of finals.values()) {
      const status = job?.status ?? "missing";
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
    s.add("final statuses", JSON.stringify(byStatus));

    const smartCalls = (await fakes.calls("smartctl")).map((c) => c.argv.at(-1));
    const sensorsCalls = (await fakes.calls("sensors")).length;
    const runs = acked.map((job) =>
      job.op === "sensors" ? sensorsCalls : smartCalls.filter((d) => d === job.device).length
    );
    const most = s.add("host runs per job, most", Math.max(...runs), undefined, {
      op: "<=",
      value: 1,
    });
    const never = s.add(
      "acknowledged jobs whose host command never ran",
      runs.filter((n) => n === 0).length,
      undefined,
      { op: "==", value: 0 },
    );

    await until(() => Date.now() > deadlineMs + 1500 || undefined, sensors.timeoutMs + 5000);
    const orphanGroup = groupOf(orphan!.pid);
    const left = alive(orphan!.pid)
      ? Math.max(1, orphanGroup === undefined ? 1 : groupMembers(orphanGroup).length)
      : 0;
    const orphansLeft = s.add("orphan processes alive 1.5 s after the deadline", left, undefined, {
      op: "==",
      value: 0,
    });
    const goneMs = await Promise.race([gone, new Promise<number>((r) => setTimeout(r, 1, NaN))]);
    const pastDeadline = s.add(
      "seconds past its deadline until the orphan was gone",
      (goneMs - deadlineMs) / 1000,
      "s",
    );
    const note = second.lines.find((l) => l.kind === "orphan_gone" && l.jobId === orphanJob);
    s.add(
      "orphan_gone logged with killedAtDeadline",
      note === undefined ? "no line" : String(note.killedAtDeadline),
      undefined,
      { op: "==", value: "true" },
    );
    return `${acked.length} of 17 triggers were acknowledged. After the kill -9 and the restart ` +
      `${journaled} of them were in the journal (${lost} lost; final statuses ` +
      `${JSON.stringify(byStatus)}). Host runs per job: at most ${most}, ${never} never ran. ` +
      `The orphaned sensors group was gone ${pastDeadline.toFixed(2)} s after its deadline ` +
      `(${orphansLeft} of its processes alive 1.5 s after it). The new receiver answered ` +
      `/healthz ${recover.toFixed(2)} s after it was started.`;
  },
};

/** 2. Two creates on one vmid, the executor killed while the first runs. */
export const sameVmidKill: Fault = {
  id: "2",
  title: "two `pct create` on one vmid, kill -9 of the executor mid-run",
  setup: () =>
    "A fake `pct` that takes 3 s and notes any earlier `pct` still alive when it starts. Two " +
    `\`create-golden-lxc\` triggers on vmid ${CREATE.vmid}: the first runs, the second waits for ` +
    "the vmid. When the first `pct` has started, the executor gets SIGKILL and the receiver is " +
    "started again; the first `pct` runs on as an orphan.",
  promise: "The two host `pct` runs never overlap (0 s): the restarted receiver keeps the vmid " +
    "taken until the orphan's processes are gone. The first job reads `interrupted` with " +
    '`outcome: "unknown"` and `processes: "gone"`; the second succeeds.',
  async run(phase: Phase) {
    const s = phase.sheet;
    const fakes = await phase.fakes();
    const pct = await timedFake(fakes, "pct", { seconds: 3 });
    const stateDir = await phase.tempDir("vmid");
    const args = ["--bin-path", `${fakes.dir}:${SYSTEM_PATH}`];
    const first = await phase.receiver(stateDir, args);
    const a = await (await first.send("create-golden-lxc", CREATE)).json();
    const b = await (await first.send("create-golden-lxc", CREATE)).json();
    s.add("statuses at trigger", `${a.status}, ${b.status}`, undefined, {
      op: "==",
      value: "running, queued",
    });
    const [orphan] = await started(pct, 1);
    const gone = goneAt(orphan!.pid);
    await first.crash();
    const second = await phase.receiver(stateDir, args);
    const done = await finalJob(second, b.jobId, 30_000);
    const lost = await readJob(second, a.jobId);
    const runs = await timedRuns(pct);
    s.add("host pct runs", runs.length, undefined, { op: "==", value: 2 });
    const [one, two] = runs;
    const overlap = one !== undefined && two !== undefined
      ? overlapSeconds(one, two, await gone)
      : NaN;
    s.add("overlap of the two pct runs", overlap, "s", { op: "==", value: 0 });
    s.add(
      "earlier pct alive when the next started (kernel check)",
      two === undefined ? NaN : two.overlapped.length,
      undefined,
      { op: "==", value: 0 },
    );
    const gap = one?.end !== undefined && two !== undefined ? two.start - one.end : NaN;
    s.add("seconds between the orphan's end and the next start", gap, "s");
    s.add("first job status", lost?.status ?? "missing", undefined, {
      op: "==",
      value: "interrupted",
    });
    s.add("first job outcome", lost?.result?.error?.outcome ?? "none", undefined, {
      op: "==",
      value: "unknown",
    });
    s.add("first job processes", lost?.result?.error?.processes ?? "none", undefined, {
      op: "==",
      value: "gone",
    });
    s.add("second job status", done?.status ?? "missing", undefined, {
      op: "==",
      value: "succeeded",
    });
    return `The first pct ran to its end as an orphan; the second started ${gap.toFixed(3)} s ` +
      `after it ended (overlap ${overlap} s; ${two?.overlapped.length ?? "?"} earlier pct alive ` +
      `at its start). The first job reads ${lost?.status} (outcome ` +
      `${lost?.result?.error?.outcome}, processes ${lost?.result?.error?.processes}); the ` +
      `second ${done?.status}.`;
  },
};

/** 3. The fenced child killed while its `pct` runs. */
export const childKill: Fault = {
  id: "3",
  title: "kill -9 of a fenced child mid-run",
  setup: () =>
    "The same fake `pct` (3 s) and two creates on one vmid. When the first `pct` has started, " +
    "its parent, the fenced child that runs it, gets SIGKILL from outside; the `pct` runs on " +
    "without it.",
  promise: "The child's whole process group (its `pct` and the `sleep` below) is killed before " +
    "the vmid is released, so the second `pct` never overlaps the first (0 s). The first job " +
    'fails `child_failed` with `outcome: "unknown"`; the second succeeds.',
  async run(phase: Phase) {
    const s = phase.sheet;
    const fakes = await phase.fakes();
    const pct = await timedFake(fakes, "pct", { seconds: 3 });
    const stateDir = await phase.tempDir("child");
    const receiver = await phase.receiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM_PATH}`]);
    const a = await (await receiver.send("create-golden-lxc", CREATE)).json();
    const b = await (await receiver.send("create-golden-lxc", CREATE)).json();
    const [victim] = await started(pct, 1);
    const child = parentOf(victim!.pid);
    const group = groupOf(victim!.pid);
    if (child === undefined || child === receiver.pid) {
      throw new Error(`Cannot find the fenced child of pct ${victim!.pid}`);
    }
    const gone = goneAt(victim!.pid);
    const killedAt = Date.now();
    signal(child, "SIGKILL");
    const goneMs = await gone;
    const failed = await finalJob(receiver, a.jobId);
    const done = await finalJob(receiver, b.jobId);
    const runs = await timedRuns(pct);
    const [one, two] = runs;
    s.add("seconds from the child's kill to its pct gone", (goneMs - killedAt) / 1000, "s", {
      op: "<=",
      value: 2,
    });
    s.add(
      "processes of the child's group alive afterwards",
      group === undefined ? NaN : groupMembers(group).length,
      undefined,
      { op: "==", value: 0 },
    );
    s.add("first pct killed, not finished", one?.end === undefined ? "yes" : "no", undefined, {
      op: "==",
      value: "yes",
    });
    const overlap = one !== undefined && two !== undefined ? overlapSeconds(one, two, goneMs) : NaN;
    s.add("overlap of the two pct runs", overlap, "s", { op: "==", value: 0 });
    s.add(
      "earlier pct alive when the next started (kernel check)",
      two === undefined ? NaN : two.overlapped.length,
      undefined,
      { op: "==", value: 0 },
    );
    const wait = two === undefined ? NaN : two.start - goneMs / 1000;
    s.add("seconds from the first pct gone to the next start", wait, "s");
    s.add("first job", `${failed?.status} ${failed?.result?.error?.code}`, undefined, {
      op: "==",
      value: "failed child_failed",
    });
    s.add("first job outcome", failed?.result?.error?.outcome ?? "none", undefined, {
      op: "==",
      value: "unknown",
    });
    s.add("second job status", done?.status ?? "missing", undefined, {
      op: "==",
      value: "succeeded",
    });
    return `The first pct was gone ${((goneMs - killedAt) / 1000).toFixed(3)} s after its child ` +
      `was killed (${
        one?.end === undefined ? "killed before its end" : "it had already ended"
      }); ` +
      "the second pct " +
      `started ${wait.toFixed(3)} s after that (overlap ${overlap} s). The first job ` +
      `${failed?.status} (${failed?.result?.error?.code}, outcome ` +
      `${failed?.result?.error?.outcome}); the second ${done?.status}.`;
  },
};
