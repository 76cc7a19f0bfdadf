/**
 * Chaos faults 8 and 9: hostile and greedy clients. Thousands of idle TCP connections and
 * half-sent requests held against the listener, and one key flooding the queue and the event
 * streams while a second key goes on triggering.
 *
 * @module
 */
import { signedRequest } from "../runtime/cli/client.ts";
import { shQuote } from "../tests/_fakes.ts";
import { SENSORS_OK } from "./_chaos_crash.ts";
import { type Fault, type Phase, type PhaseReceiver, SYSTEM_PATH } from "./_chaos_context.ts";
import { alive, fdCount, health, sleep } from "./_chaos_proc.ts";
import { formatValue } from "./_chaos_report.ts";
import { drive, percentile } from "./stats.ts";

/** Event streams one key may hold open at once, as the README promises. */
const MAX_STREAMS_PER_KEY = 8;

/** A fresh `whsec_` secret: 32 random bytes, base64 (the keys file's format). */
function newSecret(): string {
  return `whsec_${crypto.getRandomValues(new Uint8Array(32)).toBase64()}`;
}

/** The descriptor limit of both receiver units (`LimitNOFILE=` in runtime/deploy/systemd.ts). */
const UNIT_NOFILE = 4096;

type HostileKind = "idle" | "headers" | "body";

/** One connection a hostile client holds, and when the server closed it. */
interface Hostile {
  readonly kind: HostileKind;
  readonly conn: Deno.Conn;
  readonly openedAt: number;
  closedAt?: number;
  /** The first bytes the server sent, if any (a 408, say). */
  answer?: string;
  mine?: boolean;
}

async function watch(hostile: Hostile): Promise<void> {
  const buffer = new Uint8Array(512);
  try {
    for (;;) {
      const n = await hostile.conn.read(buffer);
      if (n === null) break;
      hostile.answer ??= new TextDecoder().decode(buffer.subarray(0, Math.min(n, 12)));
    }
  } catch {
    // reset by the server, or closed by us
  }
  if (!hostile.mine) hostile.closedAt ??= performance.now();
}

/** What each kind sends before it stops. */
const PARTIAL: Record<HostileKind, string> = {
  idle: "",
  headers: "POST /hooks/sensors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl",
  body: "POST /hooks/sensors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
    "Content-Length: 1000\r\n\r\n{",
};

/** How the figures name each kind. */
const NAMES: readonly [HostileKind, string][] = [
  ["idle", "idle connections"],
  ["headers", "half-sent heads"],
  ["body", "half-sent bodies"],
];

/** A probe's answer in a few words. */
function describe(answer: { status: number; body: string; ms: number }): string {
  const why = answer.status === 0 ? `no answer (${answer.body.slice(0, 60)})` : `${answer.status}`;
  return `${why} in ${answer.ms.toFixed(1)} ms`;
}

function findPrlimit(): string | undefined {
  return ["/usr/bin/prlimit", "/bin/prlimit"].find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/** 8. Idle connections and half-sent requests held against the listener. */
export const hostileClients: Fault = {
  id: "8",
  title: "hostile clients: idle connections and half-sent requests",
  setup: (scale) =>
    `Both receiver processes get the units' \`LimitNOFILE=${UNIT_NOFILE}\` (prlimit). One client ` +
    `opens ${scale.idleSockets} TCP connections to the listener and sends nothing, ` +
    `${scale.halfSent} that send part of a request head and stop, and ${scale.halfSent} that ` +
    "send a whole head announcing 1000 bytes of body and then one byte. `/healthz` is probed " +
    "20 times while they are open; the connections the server has closed are counted " +
    `${scale.checkpoints.join(" s, ")} s after they were opened; the listener's descriptors ` +
    "come from /proc/<pid>/fd.",
  promise: "The listener keeps serving: `/healthz` answers every probe, p99 within 1 s. Idle " +
    "and half-sent connections do not pile up: the server closes all of them within 15 s, and " +
    `the listener never holds more than half its ${UNIT_NOFILE} descriptors. Both processes ` +
    "live on and the descriptors come back once the clients are gone.",
  async run(phase: Phase) {
    const s = phase.sheet;
    const { idleSockets, halfSent, checkpoints } = phase.scale;
    const stateDir = await phase.tempDir("hostile");
    const receiver = await phase.receiver(stateDir);
    const prlimit = findPrlimit();
    if (prlimit !== undefined) {
      for (const pid of [receiver.pid, receiver.listenerPid]) {
        await new Deno.Command(prlimit, {
          args: [`--pid=${pid}`, `--nofile=${UNIT_NOFILE}:${UNIT_NOFILE}`],
        }).output();
      }
    }
    const limit = /^Max open files\s+(\d+)/m.exec(
      await Deno.readTextFile(`/proc/${receiver.listenerPid}/limits`),
    )?.[1];
    s.add("listener's descriptor limit", Number(limit));
    const port = Number(new URL(receiver.url).port);
    const base = s.add("listener descriptors before", fdCount(receiver.listenerPid));
    const held: Hostile[] = [];
    phase.defer(() => {
      for (const h of held) {
        h.mine = true;
        try {
          h.conn.close();
        } catch {
          // closed already
        }
      }
    });
    let peak = base;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, fdCount(receiver.listenerPid) || 0);
        await sleep(250);
      }
    })();
    phase.defer(() => (sampling = false, sampler));
    let failed = 0;
    let timedOut = 0;
    // The half-sent ones first: behind a connection cap, those opened last are shed on arrival,
    // and their timeouts would never be seen.
    const plan: HostileKind[] = [
      ...Array<HostileKind>(halfSent).fill("headers"),
      ...Array<HostileKind>(halfSent).fill("body"),
      ...Array<HostileKind>(idleSockets).fill("idle"),
    ];
    const openStarted = performance.now();
    for (const kind of plan) {
      if (timedOut >= 10) break;
      const connecting = Deno.connect({ hostname: "127.0.0.1", port });
      const conn = await Promise.race([connecting, sleep(2000).then(() => undefined)]).catch(
        () => null,
      );
      if (conn === null) {
        failed++;
        continue;
      }
      if (conn === undefined) {
        timedOut++;
        void connecting.then((late) => late.close(), () => undefined);
        continue;
      }
      const hostile: Hostile = { kind, conn, openedAt: performance.now() };
      held.push(hostile);
      void watch(hostile);
      if (PARTIAL[kind] !== "") {
        await conn.write(new TextEncoder().encode(PARTIAL[kind])).catch(() => 0);
      }
    }
    const openedAt = performance.now();
    s.add("connections opened", held.length);
    s.add("connects refused or reset", failed);
    s.add("connects that timed out (2 s)", timedOut);
    s.add("seconds to open them", (openedAt - openStarted) / 1000, "s");
    await sleep(500);
    s.add("listener descriptors with them open", fdCount(receiver.listenerPid));
    const latencies: number[] = [];
    let unanswered = 0;
    const failures = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const answer = await health(receiver.url, 5000);
      if (answer.status === 200) latencies.push(answer.ms);
      else {
        unanswered++;
        failures.add(answer.status === 0 ? answer.body.slice(0, 80) : String(answer.status));
      }
    }
    s.add("/healthz probes without a 200 (of 20)", unanswered, undefined, { op: "==", value: 0 });
    if (failures.size > 0) s.add("how those probes failed", [...failures].join("; "));
    const p50 = s.add("/healthz p50 with them open", percentile(latencies, 50), "ms");
    const p99 = s.add("/healthz p99 with them open", percentile(latencies, 99), "ms", {
      op: "<=",
      value: 1000,
    });
    const closedBy = (kind: HostileKind, at: number) =>
      held.filter((h) => h.kind === kind && h.closedAt !== undefined && h.closedAt <= at).length;
    const counts = (kind: HostileKind) => held.filter((h) => h.kind === kind).length;
    const story: string[] = [];
    for (const checkpoint of checkpoints) {
      const at = openedAt + checkpoint * 1000;
      await sleep(Math.max(0, at - performance.now()));
      const judged = checkpoint === 15;
      const figure = (kind: HostileKind, name: string) =>
        s.add(
          `${name} closed by the server after ${checkpoint} s`,
          closedBy(kind, at),
          undefined,
          judged ? { op: "==", value: counts(kind) } : undefined,
        );
      const idle = figure("idle", "idle connections");
      const heads = figure("headers", "half-sent heads");
      const bodies = figure("body", "half-sent bodies");
      const fds = s.add(
        `listener descriptors after ${checkpoint} s`,
        fdCount(receiver.listenerPid),
      );
      const answer = await health(receiver.url, 5000);
      s.add(`/healthz after ${checkpoint} s`, describe(answer));
      story.push(
        `After ${checkpoint} s the server had closed ${idle} of ${counts("idle")} idle, ` +
          `${heads} of ${counts("headers")} half-sent heads and ${bodies} of ` +
          `${counts("body")} half-sent bodies (listener descriptors: ${fds})`,
      );
    }
    for (const [kind, name] of NAMES) {
      const mine = held.filter((h) => h.kind === kind);
      const lives = mine.flatMap((h) => h.closedAt === undefined ? [] : [h.closedAt - h.openedAt]);
      s.add(`${name} closed within 1 s of opening (shed)`, lives.filter((ms) => ms < 1000).length);
      s.add(
        `${name}: longest a closed one stayed open`,
        lives.length === 0 ? NaN : Math.max(...lives) / 1000,
        "s",
      );
      s.add(`${name} still open at the end`, mine.length - lives.length);
    }
    const answers = new Set(held.flatMap((h) => h.answer === undefined ? [] : [h.answer]));
    s.add(
      "what the server sent before closing",
      answers.size === 0 ? "nothing" : [...answers].join(", "),
    );
    s.add("listener descriptors at the peak", peak, undefined, {
      op: "<=",
      value: UNIT_NOFILE / 2,
    });
    for (const h of held) {
      h.mine = true;
      try {
        h.conn.close();
      } catch {
        // closed already
      }
    }
    await sleep(2000);
    const after = s.add(
      "listener descriptors 2 s after the clients left",
      fdCount(receiver.listenerPid),
      undefined,
      {
        op: "<=",
        value: base + 8,
      },
    );
    const final = await health(receiver.url, 5000);
    s.add("/healthz after the clients left", final.status, undefined, { op: "==", value: 200 });
    s.add("/healthz after the clients left, answered in", final.ms, "ms");
    const up = alive(receiver.pid) && alive(receiver.listenerPid);
    s.add("listener and executor alive", up ? "yes" : "no", undefined, { op: "==", value: "yes" });
    return `${held.length} hostile connections were open after ` +
      `${((openedAt - openStarted) / 1000).toFixed(1)} s (${failed} refused, ${timedOut} timed ` +
      `out). /healthz answered ${20 - unanswered} of 20 probes meanwhile (p50 ` +
      `${formatValue(p50, "ms")}, p99 ${formatValue(p99, "ms")}). ${story.join(". ")}. The ` +
      `listener held at most ${peak} ` +
      `descriptors, and ${after} once the clients had gone.`;
  },
};

async function writeKeys(stateDir: string): Promise<{ flood: string; calm: string }> {
  const flood = newSecret();
  const calm = newSecret();
  const keys = {
    keys: [
      { id: "flood", secrets: [flood], ops: ["*"] },
      { id: "calm", secrets: [calm], ops: ["*"] },
    ],
  };
  await Deno.writeTextFile(`${stateDir}/keys.json`, JSON.stringify(keys), { mode: 0o600 });
  return { flood, calm };
}

function tally(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

async function trigger(url: string, secret: string): Promise<{ status: number; id?: string }> {
  const response = await fetch(
    // no-cache: each trigger wants a run of its own, so the flood meets the queue bound
    // (identical reads would otherwise share queued runs, which costs the queue nothing).
    await signedRequest(`${url}/hooks/sensors`, {
      secret,
      body: "{}",
      headers: { "cache-control": "no-cache" },
    }),
  );
  const body = await response.json().catch(() => ({}));
  return { status: response.status, ...(body.jobId === undefined ? {} : { id: body.jobId }) };
}

async function openStream(receiver: PhaseReceiver, secret: string, id: string) {
  const response = await fetch(
    await signedRequest(`${receiver.url}/jobs/${id}/events`, { secret }),
  );
  return response;
}

/** The calm key's triggers during the flood. */
const CALM = 10;

/** 9. One key floods the queue and the event streams. */
export const keyFlood: Fault = {
  id: "9",
  title: "one key flooding the queue and the event streams",
  setup: (scale) =>
    "Two keys, `flood` and `calm`, on a receiver with the default limits (4 running, 64 " +
    `queued); the sensors fake takes 1 s. \`flood\` sends ${scale.floodRequests} triggers over ` +
    `16 connections; meanwhile \`calm\` sends ${CALM}, one every 150 ms. Then \`flood\` opens ` +
    `${MAX_STREAMS_PER_KEY + 2} event streams on its last job, and \`calm\` one on its own.`,
  promise: "One key may fill at most half the queue, so the flooder gets 429 `queue_full` and " +
    `the other key is never refused. A key holds at most ${MAX_STREAMS_PER_KEY} event streams; ` +
    "past that it gets 429 `too_many_streams`, and another key still gets its stream.",
  async run(phase: Phase) {
    const s = phase.sheet;
    const fakes = await phase.fakes();
    await fakes.write("sensors", `sleep 1; printf '%s' ${shQuote(SENSORS_OK)}`);
    const stateDir = await phase.tempDir("flood");
    const secrets = await writeKeys(stateDir);
    const receiver = await phase.receiver(stateDir, ["--bin-path", `${fakes.dir}:${SYSTEM_PATH}`]);
    const flood: Record<string, number> = {};
    const calm: Record<string, number> = {};
    let floodLast: string | undefined;
    let calmLast: string | undefined;
    const flooding = drive(phase.scale.floodRequests, 16, async () => {
      const answer = await trigger(receiver.url, secrets.flood);
      tally(flood, String(answer.status));
      if (answer.id !== undefined) floodLast = answer.id;
    });
    const calming = (async () => {
      for (let i = 0; i < CALM; i++) {
        const answer = await trigger(receiver.url, secrets.calm);
        tally(calm, String(answer.status));
        if (answer.id !== undefined) calmLast = answer.id;
        await sleep(150);
      }
    })();
    const [flooded] = await Promise.all([flooding, calming]);
    s.add("flooder triggers", phase.scale.floodRequests);
    s.add("flooder accepted (202)", flood["202"] ?? 0);
    s.add("flooder refused 429", flood["429"] ?? 0, undefined, { op: ">=", value: 1 });
    s.add("flooder, every answer", JSON.stringify(flood));
    s.add("flooder requests that failed outright", flooded.errors);
    s.add("calm triggers", CALM);
    s.add("calm accepted (202)", calm["202"] ?? 0, undefined, { op: "==", value: CALM });
    s.add("calm refused 429", calm["429"] ?? 0, undefined, { op: "==", value: 0 });
    const streams: Record<string, number> = {};
    const open: Response[] = [];
    phase.defer(() => Promise.all(open.map((r) => r.body?.cancel().catch(() => undefined))));
    if (floodLast !== undefined) {
      for (let i = 0; i < MAX_STREAMS_PER_KEY + 2; i++) {
        const response = await openStream(receiver, secrets.flood, floodLast);
        open.push(response);
        const code = response.status === 200 ? "" : ` ${(await response.json()).code}`;
        tally(streams, `${response.status}${code}`);
      }
    }
    s.add("flooder streams opened (200)", streams["200"] ?? 0, undefined, {
      op: "==",
      value: MAX_STREAMS_PER_KEY,
    });
    s.add(
      "flooder streams refused 429 too_many_streams",
      streams["429 too_many_streams"] ?? 0,
      undefined,
      {
        op: "==",
        value: 2,
      },
    );
    let calmStream = "no job";
    if (calmLast !== undefined) {
      const response = await openStream(receiver, secrets.calm, calmLast);
      open.push(response);
      calmStream = String(response.status);
    }
    s.add("calm stream, meanwhile", calmStream, undefined, { op: "==", value: "200" });
    for (const response of open.splice(0)) await response.body?.cancel().catch(() => undefined);
    return `The flooder's ${phase.scale.floodRequests} triggers were answered ` +
      `${JSON.stringify(flood)}; the calm key's ${CALM}: ${JSON.stringify(calm)}. The flooder's ` +
      `event streams: ${JSON.stringify(streams)}; the calm key's stream meanwhile: ${calmStream}.`;
  },
};
