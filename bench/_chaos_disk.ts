/**
 * Chaos fault 6: the state dir's disk fills up under a running receiver (a 2 MiB tmpfs, filled
 * by one file until ENOSPC), then space comes back. Needs root, to mount the tmpfs.
 *
 * @module
 */
import { shQuote } from "../tests/_fakes.ts";
import { diskName, SENSORS_OK } from "./_chaos_crash.ts";
import { type Fault, type Phase, SYSTEM_PATH } from "./_chaos_context.ts";
import { fill } from "../tests/_watch.ts";
import { alive, health, until } from "./_chaos_proc.ts";

async function run(command: string, args: string[]): Promise<number> {
  return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output()).code;
}

/** Triggers sent while the disk is full. */
const WHILE_FULL = 20;

/** 6. A full state disk. */
export const fullDisk: Fault = {
  id: "6",
  title: "full disk under the state dir",
  setup: () =>
    "The state dir on a 2 MiB tmpfs. A `sensors` job runs (its fake takes 1.5 s); the tmpfs " +
    `is then filled until ENOSPC and ${WHILE_FULL} \`smart\` triggers are sent while it is ` +
    "full. The fake finishes meanwhile, so its result cannot be written. Then the filler is " +
    "removed.",
  promise: "Nothing is accepted while the journal cannot be written: every trigger gets 503 " +
    "`journal_unavailable` with `Retry-After`, never a crash or a 500. The finished job's result " +
    "waits in memory and lands once there is space again, within 3 s; triggers are accepted " +
    "again; the host command ran once; no unhandled error.",
  skip() {
    return Promise.resolve(Deno.uid() === 0 ? undefined : "Mounting a tmpfs needs root.");
  },
  async run(phase: Phase) {
    const s = phase.sheet;
    const dir = await phase.tempDir("disk");
    if (await run("mount", ["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", dir]) !== 0) {
      throw new Error(`Cannot mount a tmpfs on ${dir}`);
    }
    phase.defer(() => run("umount", [dir]));
    const fakes = await phase.fakes();
    await fakes.write("sensors", `sleep 1.5; printf '%s' ${shQuote(SENSORS_OK)}`);
    const stateDir = `${dir}/state`;
    const receiver = await phase.receiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM_PATH}`]);
    const running = await (await receiver.send("sensors", {})).json();
    await fill(`${dir}/filler`);
    const answers: Record<string, number> = {};
    let retryAfter = 0;
    for (let i = 0; i < WHILE_FULL; i++) {
      const response = await receiver.send("smart", { device: `/dev/sd${diskName(i)}` });
      const body = await response.json().catch(() => ({}));
      const key = `${response.status} ${body.code ?? body.status ?? ""}`.trim();
      answers[key] = (answers[key] ?? 0) + 1;
      if (response.headers.get("retry-after") !== null) retryAfter++;
    }
    const refused = answers["503 journal_unavailable"] ?? 0;
    s.add("triggers while full answered 503 journal_unavailable", refused, undefined, {
      op: "==",
      value: WHILE_FULL,
    });
    s.add("of them with Retry-After", retryAfter, undefined, { op: "==", value: WHILE_FULL });
    s.add("all answers while full", JSON.stringify(answers));
    s.add("/healthz while full", (await health(receiver.url)).status);
    const waited = await until(
      () =>
        receiver.lines.some((l) => l.kind === "journal_error" && l.jobId === running.jobId) ||
        undefined,
      10_000,
    );
    s.add(
      "the finished job's result could not be written (journal_error logged)",
      waited ? "yes" : "no",
    );
    const meanwhile = (await (await receiver.read(`/jobs/${running.jobId}`)).json()).status;
    s.add("the job meanwhile reads", meanwhile ?? "unreadable");
    const freedAt = performance.now();
    await Deno.remove(`${dir}/filler`);
    const landed = await until(async () => {
      const job = await (await receiver.read(`/jobs/${running.jobId}`)).json();
      return job.status === "succeeded" ? job : undefined;
    }, 15_000);
    const lag = s.add(
      "seconds from space back to the result on disk",
      landed === undefined ? NaN : (performance.now() - freedAt) / 1000,
      "s",
      { op: "<=", value: 3 },
    );
    const after = await receiver.send("smart", { device: "/dev/sdzz" });
    await after.body?.cancel();
    s.add("a trigger after recovery", after.status, undefined, { op: "==", value: 202 });
    const calls = (await fakes.calls("sensors")).length;
    s.add("host runs of the job", calls, undefined, { op: "==", value: 1 });
    const unhandled = receiver.lines.filter((l) => l.kind === "unhandled").length;
    s.add("unhandled errors logged", unhandled, undefined, { op: "==", value: 0 });
    const up = alive(receiver.pid) && alive(receiver.listenerPid);
    s.add("executor and listener alive throughout", up ? "yes" : "no", undefined, {
      op: "==",
      value: "yes",
    });
    return `While the disk was full the ${WHILE_FULL} triggers were answered ` +
      `${JSON.stringify(answers)} (${retryAfter} with Retry-After); the job that finished ` +
      `meanwhile read ${meanwhile}, and its result was on disk ${lag.toFixed(2)} s after the ` +
      `space came back. Afterwards a trigger got ${after.status}; ${unhandled} unhandled ` +
      `errors; the receiver ${up ? "stayed up" : "did not stay up"}.`;
  },
};
