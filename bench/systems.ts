/**
 * The three systems the bench compares, each exposing one `request` for a workload: the bare
 * binary (the floor), Debian's `webhook` (the peer) and rootfence's receiver. The two receivers
 * also sign requests for wrk, and rootfence counts the memory of every process it runs.
 *
 * @module
 */
import { signedRequest } from "../runtime/cli/client.ts";
import { newSecret, signatureHeaders } from "../runtime/signing.ts";
import { DatabaseSync } from "node:sqlite";
import type { JournaledRun } from "./_report.ts";
import type { WrkRequest } from "./wrk.ts";

/** A workload: which op, and the exact host command it stands for. */
export interface Workload {
  readonly name: "sensors" | "smart";
  readonly op: string;
  readonly input: Record<string, unknown>;
  /** Absolute path of the binary and its argv, as the floor and the peer run them. */
  readonly binary: string;
  readonly args: readonly string[];
}

/** One system under test. */
export interface System {
  readonly name: "floor" | "webhook" | "shape" | "shape+work" | "rootfence";
  /** One request that runs the host binary (rootfence: `Cache-Control: no-cache`). */
  request(workload: Workload, i: number): Promise<void>;
  /** Peak and current RSS of the server process, in MiB, when there is one. */
  rss(): Promise<{ peakMiB: number; nowMiB: number } | undefined>;
  stop(): Promise<void>;
}

/** A system behind HTTP, which wrk can drive too. */
export interface HttpSystem extends System {
  readonly name: "webhook" | "shape" | "shape+work" | "rootfence";
  readonly url: string;
  /** The i-th request of a wrk run, signed now, as `request` would send it. */
  wrkRequest(workload: Workload, i: number): Promise<WrkRequest>;
  /** The CPU time its processes have used so far (see {@linkcode cpuBetween}). */
  cpu(): CpuSnapshot;
  /**
   * The runs of `op` from jobs created at `from` or later that ended by `to` (ms since the epoch),
   * from its journal: rootfence only, the others keep none.
   */
  runs?(op: string, from: number, to: number): JournaledRun[];
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** One process's CPU time so far, in ms: its own, and what it waited for (its children). */
export interface ProcessCpu {
  readonly role: string;
  readonly parent: number;
  readonly self: number;
  readonly children: number;
}

/** The CPU time so far of every process under `root`, by pid. */
export type CpuSnapshot = ReadonlyMap<number, ProcessCpu>;

/** Reads the CPU time of every process under `root` from /proc. */
export function cpuOf(root: number): CpuSnapshot {
  const snapshot = new Map<number, ProcessCpu>();
  for (const pid of treeOf(root)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
      // ppid is field 4 of stat, and utime, stime, cutime, cstime are 14..17: after the
      // name, indexes 1 and 11..14.
      snapshot.set(pid, {
        role: roleOf(pid).replace(/^child .*/, "fenced children"),
        parent: fields[1]!,
        self: (fields[11]! + fields[12]!) * 1000 / TICKS,
        children: (fields[13]! + fields[14]!) * 1000 / TICKS,
      });
    } catch {
      // gone meanwhile
    }
  }
  return snapshot;
}

/**
 * The CPU time used between two snapshots, in ms, by role: each process's own, and as
 * `<role> children` what the processes it waited for used (the host binaries, for a fenced child
 * or the peer). A process that ended in between counts under its parent's `children` with what
 * it used in between only: what it had used before is taken off.
 */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const used: Record<string, number> = {};
  const add = (role: string, ms: number) => used[role] = (used[role] ?? 0) + ms;
  for (const [pid, now] of after) {
    const then = before.get(pid);
    add(now.role, now.self - (then?.self ?? 0));
    add(`${now.role} children`, now.children - (then?.children ?? 0));
  }
  for (const [pid, then] of before) {
    if (after.has(pid)) continue;
    const parent = after.get(then.parent);
    if (parent !== undefined) add(`${parent.role} children`, -(then.self + then.children));
  }
  return used;
}

/** One process's memory, in MiB. */
export interface ProcessMemory {
  readonly pid: number;
  /** What it is: `deno task`, `starter`, `listener`, `executor`, `child <op>`. */
  readonly role: string;
  readonly rssMiB: number;
  /** Proportional set size: shared pages (the Deno binary's) split between their users. */
  readonly pssMiB: number;
}

async function rssOf(pid: number): Promise<{ peakMiB: number; nowMiB: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { peakMiB: kb("VmHWM") / 1024, nowMiB: kb("VmRSS") / 1024 };
}

/** Every process below `root` (and `root` itself), from /proc. */
function treeOf(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      parents.set(Number(entry.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, parent] of parents) if (parent === tree[i]) tree.push(pid);
  }
  return tree;
}

function roleOf(pid: number): string {
  const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
  const op = argv.find((a) => a.startsWith("--op="))?.slice(5);
  if (op !== undefined) return `child ${op}`;
  if (argv[0]?.endsWith("webhook")) return "webhook";
  if (argv.some((a) => a.endsWith("executor.ts"))) return "executor";
  if (argv.some((a) => a.endsWith("listener.js") || a.endsWith("shape/listener.ts"))) {
    return "listener";
  }
  if (argv.some((a) => a.endsWith("start.ts"))) return "starter";
  if (argv.includes("task")) return "deno task";
  return argv.map((a) => a.split("/").at(-1)).join(" ").slice(0, 40);
}

/** The memory of every process in the tree under `root`. */
export function memoryOfTree(root: number): ProcessMemory[] {
  const memory: ProcessMemory[] = [];
  for (const pid of treeOf(root)) {
    try {
      const status = Deno.readTextFileSync(`/proc/${pid}/status`);
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
      const pss = Number(
        /^Pss:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`))?.[1] ?? NaN,
      );
      memory.push({ pid, role: roleOf(pid), rssMiB: rss / 1024, pssMiB: pss / 1024 });
    } catch {
      // gone meanwhile
    }
  }
  return memory;
}

/** The floor: spawn the binary directly. */
export function floor(): System {
  return {
    name: "floor",
    async request(workload) {
      const output = await new Deno.Command(workload.binary, {
        args: [...workload.args],
        clearEnv: true,
        env: { LC_ALL: "C" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (output.stdout.length === 0) throw new Error("no output");
    },
    rss: () => Promise.resolve(undefined),
    stop: () => Promise.resolve(),
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

async function hmacHex(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)))
    .toHex();
}

/**
 * The fence's shape with no work (`bench/shape/`): a node:http listener, a kept Unix connection
 * to an executor, a pooled Deno child under a run grant on its binary alone, and the binary. No
 * signature, schema, journal, scheduling or log: what rootfence's process layout costs by itself.
 * With `work`, the same layout does the work no receiver can skip (`bench/shape/work.ts`), and
 * its requests are signed as rootfence's are.
 */
export async function shape(
  workloads: readonly Workload[],
  dir: string,
  options: { readonly work?: boolean } = {},
): Promise<HttpSystem> {
  const port = freePort();
  const spec = workloads.map((w) => ({ name: w.name, binary: w.binary, args: w.args }));
  const secret = options.work ? newSecret() : undefined;
  const executor = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("shape/executor.ts", import.meta.url).pathname,
      dir,
      String(port),
      JSON.stringify(spec),
      ...(secret === undefined ? [] : [`--work=${secret}`]),
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  await waitForPort(port);
  const url = `http://127.0.0.1:${port}`;
  const request = async (workload: Workload): Promise<WrkRequest> => {
    const body = JSON.stringify(workload.input);
    const signed = secret === undefined
      ? {}
      : await signatureHeaders(secret, new TextEncoder().encode(body));
    return {
      method: "POST",
      path: `/${workload.name}`,
      headers: { ...signed, "content-type": "application/json" },
      body,
    };
  };
  const ran = (reply: { stdout?: string; result?: { ok: boolean } }) =>
    secret === undefined ? reply.stdout !== undefined : reply.result?.ok === true;
  return {
    name: secret === undefined ? "shape" : "shape+work",
    url,
    async request(workload) {
      const { path, headers, body } = await request(workload);
      const response = await fetch(`${url}${path}`, { method: "POST", headers, body });
      const reply = await response.json();
      if (!ran(reply)) throw new Error(`shape: no run: ${JSON.stringify(reply).slice(0, 200)}`);
    },
    wrkRequest: (workload) => request(workload),
    cpu: () => cpuOf(executor.pid),
    rss: () => Promise.resolve(undefined),
    async stop() {
      for (const pid of treeOf(executor.pid).reverse()) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
      await executor.status;
    },
  };
}

/** The peer: Debian's webhook, a payload-hmac-sha256 rule, running the same binary. */
export async function webhook(workloads: readonly Workload[], dir: string): Promise<HttpSystem> {
  const secret = "bench-secret-not-for-production";
  const hooks = workloads.map((w) => ({
    id: w.name,
    "execute-command": w.binary,
    "include-command-output-in-response": true,
    "include-command-output-in-response-on-error": true,
    "pass-arguments-to-command": w.args.map((a) => ({ source: "string", name: a })),
    "trigger-rule-mismatch-http-response-code": 401,
    "trigger-rule": {
      match: {
        type: "payload-hmac-sha256",
        secret,
        parameter: { source: "header", name: "X-Hub-Signature-256" },
      },
    },
  }));
  await Deno.writeTextFile(`${dir}/hooks.json`, JSON.stringify(hooks));
  const port = freePort();
  const process = new Deno.Command("webhook", {
    args: ["-hooks", `${dir}/hooks.json`, "-ip", "127.0.0.1", "-port", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port);
  const url = `http://127.0.0.1:${port}`;
  const signed = async (workload: Workload, i: number) => {
    const body = JSON.stringify({ id: `req-${i}`, ...workload.input });
    return {
      body,
      headers: {
        "content-type": "application/json",
        "x-hub-signature-256": `sha256=${await hmacHex(secret, body)}`,
      },
    };
  };
  return {
    name: "webhook",
    url,
    async request(workload, i) {
      const { body, headers } = await signed(workload, i);
      const response = await fetch(`${url}/hooks/${workload.name}`, {
        method: "POST",
        body,
        headers,
      });
      await response.arrayBuffer();
      // webhook answers 500 for a non-zero exit (sensors exits 1 with no sensors): still a run.
      if (response.status !== 200 && response.status !== 500) {
        throw new Error(`webhook ${response.status}`);
      }
    },
    async wrkRequest(workload, i) {
      const { body, headers } = await signed(workload, i);
      return { method: "POST", path: `/hooks/${workload.name}`, headers, body };
    },
    rss: () => rssOf(process.pid),
    cpu: () => cpuOf(process.pid),
    async stop() {
      process.kill("SIGTERM");
      await process.status;
    },
  };
}

/** The real receiver, as {@linkcode rootfence} starts it. */
export interface Rootfence extends HttpSystem {
  readonly name: "rootfence";
  /** Every process of it right after start (pool pre-started): see {@linkcode memoryOfTree}. */
  readonly idle: readonly ProcessMemory[];
  /** Every process of it now. */
  processes(): ProcessMemory[];
  /**
   * One read as a monitor sends it: no `Cache-Control`, so it may share an identical queued
   * run. Returns the id of the job whose run served it.
   */
  poll(workload: Workload): Promise<string>;
}

/**
 * rootfence: the real receiver (starter, listener, executor, pooled fenced children), started
 * with `deno task start` and its defaults unless `extra` says otherwise.
 */
export async function rootfence(
  binPath: string,
  dir: string,
  extra: readonly string[] = [],
): Promise<Rootfence> {
  const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
  const starter = new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "-q",
      "start",
      "--state-dir",
      `${dir}/state`,
      "--port",
      "0",
      "--bin-path",
      binPath,
      ...extra,
    ],
    cwd: root,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = starter.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let listening: { port: number; pid: number } | undefined;
  let executorPid: number | undefined;
  while (listening === undefined || executorPid === undefined) {
    const { value, done } = await lines.read();
    if (done) throw new Error("receiver exited before listening");
    buffer += value;
    for (const line of buffer.split("\n").slice(0, -1)) {
      const doc = JSON.parse(line);
      if (doc.kind === "listening") listening = { port: doc.port, pid: doc.pid };
      if (doc.kind === "ready") executorPid = doc.pid;
    }
    buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
  }
  // Keep draining the log so the receiver never blocks on a full pipe.
  void (async () => {
    while (!(await lines.read()).done);
  })();
  await new Promise((r) => setTimeout(r, 1500)); // let the pool finish pre-starting
  const idle = memoryOfTree(starter.pid);
  const keys = JSON.parse(await Deno.readTextFile(`${dir}/state/keys.json`));
  const secret: string = keys.keys[0].secrets[0];
  const url = `http://127.0.0.1:${listening.port}`;
  // Every request of the apples-to-apples rows runs the binary, as the peer's do.
  const own = { prefer: "wait=60", "cache-control": "no-cache" };
  const send = async (workload: Workload, headers: Record<string, string>) => {
    const response = await fetch(
      await signedRequest(`${url}/hooks/${workload.op}`, {
        secret,
        body: JSON.stringify(workload.input),
        headers,
      }),
    );
    const job = await response.json();
    if (response.status !== 200 || job.status !== "succeeded") {
      const code = job.result?.error?.code ?? job.code ?? job.status;
      throw new Error(`rootfence ${response.status} ${code}`);
    }
    return job as { servedBy: string };
  };
  return {
    name: "rootfence",
    url,
    idle,
    processes: () => memoryOfTree(starter.pid),
    cpu: () => cpuOf(starter.pid),
    async request(workload) {
      await send(workload, own);
    },
    async poll(workload) {
      return (await send(workload, { prefer: "wait=60" })).servedBy;
    },
    async wrkRequest(workload) {
      const body = JSON.stringify(workload.input);
      return {
        method: "POST",
        path: `/hooks/${workload.op}`,
        headers: {
          ...await signatureHeaders(secret, new TextEncoder().encode(body)),
          "content-type": "application/json",
          ...own,
        },
        body,
      };
    },
    runs(op, from, to) {
      // Its own connection, read-only: the executor's writes go on meanwhile (WAL).
      const db = new DatabaseSync(`${dir}/state/journal.db`, { readOnly: true });
      try {
        return db.prepare(
          `SELECT started_at AS startedAt, finished_at AS finishedAt, result FROM jobs
           WHERE op = ? AND created_at >= ? AND finished_at <= ? AND served_by IS NULL
             AND started_at IS NOT NULL`,
        ).all(op, from, to) as unknown as JournaledRun[];
      } finally {
        db.close();
      }
    },
    // The listener and the executor: the receiver's own two processes.
    async rss() {
      const [a, b] = await Promise.all([rssOf(listening!.pid), rssOf(executorPid!)]);
      return { peakMiB: a.peakMiB + b.peakMiB, nowMiB: a.nowMiB + b.nowMiB };
    },
    async stop() {
      starter.kill("SIGTERM");
      await starter.status;
    },
  };
}
