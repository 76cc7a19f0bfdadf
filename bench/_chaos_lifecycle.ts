/**
 * Chaos faults 4, 5 and 7: the receiver's own life. A second start on a live state dir, the
 * starter killed with SIGKILL, and a SIGTERM while a client waits with `Prefer: wait`.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { shQuote } from "../tests/_fakes.ts";
import { SENSORS_OK, SMART_OK } from "./_chaos_crash.ts";
import { type Fault, type Phase, SYSTEM_PATH, timedFake, timedRuns } from "./_chaos_context.ts";
import {
  alive,
  descendants,
  goneAt,
  groupMembers,
  groupOf,
  health,
  signal,
  sleep,
  until,
} from "./_chaos_proc.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** A job's status straight from a stopped receiver's journal. */
function journalStatus(stateDir: string, jobId: string): string {
  const db = new DatabaseSync(`${stateDir}/journal.db`, { readOnly: true });
  try {
    const row = db.prepare("SELECT status FROM jobs WHERE id = ?").get(jobId) as
      | { status: string }
      | undefined;
    return row?.status ?? "missing";
  } finally {
    db.close();
  }
}

/** What identifies a file's content on disk: inode, size and modification time. */
async function fingerprint(path: string): Promise<string> {
  const info = await Deno.lstat(path).catch(() => undefined);
  return info === undefined ? "absent" : `${info.ino}:${info.size}:${info.mtime?.getTime()}`;
}

/** 4. A second receiver started on a state dir that one already serves. */
export const secondReceiver: Fault = {
  id: "4",
  title: "a second receiver on the same state dir",
  setup: () =>
    "A receiver with `--max-running 1` runs a `smart` job on /dev/sda (its fake takes 6 s) and " +
    "holds one on /dev/sdb queued. A second `deno task start` with the same flags is started on " +
    "the same state dir while it does.",
  promise: "The second start exits non-zero with one line naming the lock, before it touches " +
    "anything: the journal's files and the socket are unchanged, the first receiver's running " +
    "job still reads `running`, its queued job runs exactly once, and it still answers `/healthz`.",
  async run(phase: Phase) {
    const s = phase.sheet;
    const fakes = await phase.fakes();
    await fakes.write(
      "smartctl",
      `case "$*" in *sda*) sleep 6;; esac\nprintf '%s' ${shQuote(SMART_OK)}`,
    );
    const stateDir = await phase.tempDir("twice");
    const args = ["--bin-path", `${fakes.dir}:${SYSTEM_PATH}`, "--max-running", "1"];
    const first = await phase.receiver(stateDir, args);
    const running = (await (await first.send("smart", { device: "/dev/sda" })).json()).jobId;
    await (await first.send("smart", { device: "/dev/sdb" })).body?.cancel();
    await until(async () => (await fakes.calls("smartctl")).length >= 1 || undefined, 10_000);
    // Past the executor's first background prune, so nothing of its own writes meanwhile.
    await sleep(1200);
    const files = ["journal.db", "journal.db-wal", "journal.db-shm", "executor.sock", "keys.json"];
    const before = await Promise.all(files.map((f) => fingerprint(`${stateDir}/${f}`)));
    const startedAt = performance.now();
    const second = new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "start", "--state-dir", stateDir, "--port", "0"].concat(
        ["--listener-user", "root"],
        args,
      ),
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = second.output();
    const ended = await Promise.race([output.then(() => true), sleep(20_000).then(() => false)]);
    if (!ended) {
      for (const pid of descendants(second.pid).reverse()) signal(pid, "SIGKILL");
      signal(second.pid, "SIGKILL");
    }
    const result = await output;
    const refusedIn = (performance.now() - startedAt) / 1000;
    const after = await Promise.all(files.map((f) => fingerprint(`${stateDir}/${f}`)));
    const stderr = new TextDecoder().decode(result.stderr).trim();
    const stdout = new TextDecoder().decode(result.stdout);
    s.add("second start's exit code", ended ? result.code : NaN, undefined, { op: ">=", value: 1 });
    s.add("seconds until it refused", refusedIn, "s");
    s.add(
      "its refusal names the lock",
      /another rootfence executor is running/.test(stderr) ? "yes" : "no",
      undefined,
      { op: "==", value: "yes" },
    );
    s.add(
      "it printed ready or listening",
      /"kind":"(ready|listening)"/.test(stdout) ? "yes" : "no",
      undefined,
      { op: "==", value: "no" },
    );
    const changed = files.filter((_, i) => before[i] !== after[i]);
    s.add("state files changed meanwhile (journal, WAL, socket, keys)", changed.length, undefined, {
      op: "==",
      value: 0,
    });
    const status = (await (await first.read(`/jobs/${running}`)).json()).status;
    s.add("first receiver's running job reads", status, undefined, { op: "==", value: "running" });
    const answer = await health(first.url);
    s.add("first receiver's /healthz", answer.status, undefined, { op: "==", value: 200 });
    await until(
      async () =>
        (await fakes.calls("smartctl")).some((c) => c.argv.at(-1) === "/dev/sdb") ||
        undefined,
      15_000,
      200,
    );
    await sleep(500);
    const sdb = (await fakes.calls("smartctl")).filter((c) => c.argv.at(-1) === "/dev/sdb");
    s.add("host runs of the queued job", sdb.length, undefined, { op: "==", value: 1 });
    return `The second start exited ${result.code} after ${refusedIn.toFixed(2)} s: ` +
      `"${stderr.split("\n").at(-1)}". Changed state files: ${
        changed.length === 0 ? "none" : changed.join(", ")
      }. The first receiver's running job read ${status}, its /healthz answered ` +
      `${answer.status}, and its queued job ran ${sdb.length} time${sdb.length === 1 ? "" : "s"}.`;
  },
};

/** 5. The starter killed with SIGKILL while a job runs. */
export const starterKill: Fault = {
  id: "5",
  title: "kill -9 of the starter",
  setup: () =>
    "A receiver with `--grace 1` runs a `sensors` job whose fake sleeps 60 s. The starter " +
    "(`runtime/server/start.ts`, parent of the listener and the executor) gets SIGKILL.",
  promise: "Both the listener and the executor end on their own (they see their stdin, held by " +
    "the starter, end) within 5 s; the running job's processes are killed after the grace and " +
    "it is journaled `interrupted`; nothing listens on the port afterwards.",
  async run(phase: Phase) {
    const s = phase.sheet;
    const fakes = await phase.fakes();
    const fake = await timedFake(fakes, "sensors", { seconds: 60 });
    const stateDir = await phase.tempDir("starter");
    const receiver = await phase.receiver(stateDir, [
      "--bin-path",
      `${fakes.dir}:${SYSTEM_PATH}`,
      "--grace",
      "1",
    ]);
    const job = (await (await receiver.send("sensors", {})).json()).jobId;
    const run = await until(async () => (await timedRuns(fake))[0], 10_000);
    if (run === undefined) throw new Error("Cannot see the sensors fake start");
    const group = groupOf(run.pid);
    const killedAt = Date.now();
    const listenerGone = goneAt(receiver.listenerPid, 30_000);
    const executorGone = goneAt(receiver.pid, 30_000);
    const fakeGone = goneAt(run.pid, 30_000);
    signal(receiver.starterPid, "SIGKILL");
    const [listenerMs, executorMs, fakeMs] = await Promise.all([
      listenerGone,
      executorGone,
      fakeGone,
    ]);
    s.add("seconds until the listener was gone", (listenerMs - killedAt) / 1000, "s", {
      op: "<=",
      value: 5,
    });
    s.add("seconds until the executor was gone", (executorMs - killedAt) / 1000, "s", {
      op: "<=",
      value: 5,
    });
    s.add("seconds until the running job's fake was gone", (fakeMs - killedAt) / 1000, "s");
    s.add(
      "processes of the job's group alive afterwards",
      group === undefined ? NaN : groupMembers(group).length,
      undefined,
      { op: "==", value: 0 },
    );
    const port = Number(new URL(receiver.url).port);
    const listening = await Deno.connect({ hostname: "127.0.0.1", port }).then(
      (conn) => (conn.close(), "yes"),
      () => "no",
    );
    s.add("something still accepts on the port", listening, undefined, { op: "==", value: "no" });
    const status = alive(receiver.pid) ? "executor alive" : journalStatus(stateDir, job);
    s.add("the running job's journaled status", status, undefined, {
      op: "==",
      value: "interrupted",
    });
    return `After the starter's SIGKILL the listener was gone in ${
      ((listenerMs - killedAt) / 1000).toFixed(2)
    } s and the executor in ${((executorMs - killedAt) / 1000).toFixed(2)} s; the job's fake ` +
      `was gone in ${((fakeMs - killedAt) / 1000).toFixed(2)} s and the job reads ${status}. ` +
      `The port ${listening === "no" ? "refuses connections" : "still accepts connections"}.`;
  },
};

/** One `/healthz` probe during the drain. */
interface Probe {
  /** When it was sent and answered, in ms since the epoch. */
  readonly sent: number;
  readonly answered: number;
  /** `503 draining`, `200 ok`, `502 executor_failed`, `no answer`, ... */
  readonly answer: string;
}

function tally(answers: readonly string[]): string {
  const counts: Record<string, number> = {};
  for (const answer of answers) counts[answer] = (counts[answer] ?? 0) + 1;
  return JSON.stringify(counts);
}

/** 7. SIGTERM while a client waits for its job. */
export const drain: Fault = {
  id: "7",
  title: "SIGTERM drain",
  setup: () =>
    "A receiver with `--grace 10`; a `sensors` job whose fake takes 3 s, triggered with " +
    "`Prefer: wait=30`. 300 ms after the fake started, `deno task start` gets SIGTERM (what " +
    "`kill` or a service manager sends; the starter relays it to the executor). `/healthz` is " +
    "probed every 100 ms (1 s timeout each) and a new trigger is sent 300 ms after the SIGTERM. " +
    "The drain is the time from the SIGTERM until the running job's fake ended.",
  promise: "The waiting client is answered at once with 202 and the job's current state. While " +
    "the receiver drains, `/healthz` answers 503 `draining` and a new trigger gets 503 " +
    "`shutting_down`. The running job finishes within the grace and is journaled `succeeded`; " +
    "the starter exits 0.",
  async run(phase: Phase) {
    const s = phase.sheet;
    const fakes = await phase.fakes();
    const fake = await timedFake(fakes, "sensors", { seconds: 3, output: SENSORS_OK });
    const stateDir = await phase.tempDir("drain");
    const receiver = await phase.receiver(stateDir, [
      "--bin-path",
      `${fakes.dir}:${SYSTEM_PATH}`,
      "--grace",
      "10",
    ]);
    const waiting = receiver.send("sensors", {}, { wait: 30 }).then(
      async (r) => {
        const at = Date.now();
        const body = await r.json();
        return { status: r.status, job: body.status as string, id: body.jobId as string, at };
      },
      (error) => ({ status: 0, job: String(error), id: "", at: Date.now() }),
    );
    await until(async () => (await timedRuns(fake))[0], 10_000);
    await sleep(300);
    const termAt = Date.now();
    const stopped = receiver.stop().then((code) => ({ code, at: Date.now() }));
    let done = false;
    void stopped.then(() => done = true);
    const probes: Probe[] = [];
    const probing = (async () => {
      while (!done) {
        const sent = Date.now();
        const answer = await health(receiver.url, 1000);
        probes.push({
          sent,
          answered: Date.now(),
          answer: answer.status === 0
            ? "no answer"
            : `${answer.status} ${answer.body.match(/"(?:status|code)":"([a-z_]+)"/)?.[1] ?? ""}`,
        });
        await sleep(100);
      }
    })();
    await sleep(300);
    const lateSent = Date.now();
    const late = await receiver.send("sensors", {}).then(
      async (r) => `${r.status} ${(await r.json().catch(() => ({}))).code ?? ""}`.trim(),
      () => "no answer",
    );
    const lateWaited = (Date.now() - lateSent) / 1000;
    const answered = await waiting;
    const exit = await stopped;
    await probing;
    const ended = (await timedRuns(fake))[0]?.end;
    const drainEnd = ended === undefined ? exit.at : ended * 1000;
    s.add(
      "seconds the receiver drained (SIGTERM to the job's end)",
      (drainEnd - termAt) / 1000,
      "s",
    );
    s.add("waiting client's answer", `${answered.status} ${answered.job}`, undefined, {
      op: "==",
      value: "202 running",
    });
    s.add("seconds from SIGTERM to that answer", (answered.at - termAt) / 1000, "s", {
      op: "<=",
      value: 1,
    });
    // Inside the drain: sent once the signal had time to reach the executor, answered (or given
    // up) before the job ended.
    const inside = probes.filter((p) => p.sent >= termAt + 100 && p.answered <= drainEnd);
    const draining = inside.filter((p) => p.answer === "503 draining").length;
    s.add("/healthz probes inside the drain", inside.length);
    s.add("of them answered 503 draining", draining);
    s.add(
      "/healthz probes inside the drain without a 503 draining within 1 s",
      inside.length - draining,
      undefined,
      {
        op: "==",
        value: 0,
      },
    );
    s.add("/healthz inside the drain, every answer", tally(inside.map((p) => p.answer)));
    s.add("/healthz after SIGTERM, every answer", tally(probes.map((p) => p.answer)));
    s.add("new trigger during the drain", late, undefined, {
      op: "==",
      value: "503 shutting_down",
    });
    s.add("seconds that trigger waited for its answer", lateWaited, "s");
    s.add("seconds from SIGTERM to the starter's exit", (exit.at - termAt) / 1000, "s", {
      op: "<=",
      value: 12,
    });
    s.add("starter's exit code", exit.code, undefined, { op: "==", value: 0 });
    const status = answered.id === "" ? "unknown" : journalStatus(stateDir, answered.id);
    s.add("the running job's journaled status", status, undefined, {
      op: "==",
      value: "succeeded",
    });
    return `The waiting client got ${answered.status} (${answered.job}) ${
      ((answered.at - termAt) / 1000).toFixed(3)
    } s after the SIGTERM. During the ${((drainEnd - termAt) / 1000).toFixed(2)} s drain, ` +
      `${draining} of ${inside.length} /healthz probes got 503 draining (answers: ` +
      `${tally(inside.map((p) => p.answer))}); a new trigger got "${late}" after ` +
      `${lateWaited.toFixed(2)} s. The starter exited ${exit.code} after ${
        ((exit.at - termAt) / 1000).toFixed(2)
      } s and the job reads ${status}.`;
  },
};
