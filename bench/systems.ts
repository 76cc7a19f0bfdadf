/**
 * The three systems the bench compares, each exposing one `request` for a workload: the bare
 * binary (the floor), Debian's `webhook` (the peer) and rootfence's receiver.
 *
 * @module
 */
import { signedRequest } from "../runtime/cli/client.ts";

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
  readonly name: "floor" | "webhook" | "rootfence";
  request(workload: Workload, i: number): Promise<void>;
  /** Peak and current RSS of the server process, in MiB, when there is one. */
  rss(): Promise<{ peakMiB: number; nowMiB: number } | undefined>;
  stop(): Promise<void>;
}

async function rssOf(pid: number): Promise<{ peakMiB: number; nowMiB: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { peakMiB: kb("VmHWM") / 1024, nowMiB: kb("VmRSS") / 1024 };
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

/** The peer: Debian's webhook, a payload-hmac-sha256 rule, running the same binary. */
export async function webhook(workloads: readonly Workload[], dir: string): Promise<System> {
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
  return {
    name: "webhook",
    async request(workload, i) {
      const body = JSON.stringify({ id: `req-${i}`, ...workload.input });
      const response = await fetch(`http://127.0.0.1:${port}/hooks/${workload.name}`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-hub-signature-256": `sha256=${await hmacHex(secret, body)}`,
        },
      });
      await response.arrayBuffer();
      // webhook answers 500 for a non-zero exit (sensors exits 1 with no sensors): still a run.
      if (response.status !== 200 && response.status !== 500) {
        throw new Error(`webhook ${response.status}`);
      }
    },
    rss: () => rssOf(process.pid),
    async stop() {
      process.kill("SIGTERM");
      await process.status;
    },
  };
}

/** rootfence: the real receiver (starter, listener, executor, pooled fenced children). */
export async function rootfence(
  binPath: string,
  dir: string,
  extra: readonly string[] = [],
): Promise<System & { idleRss: { peakMiB: number; nowMiB: number } }> {
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
  await new Promise((r) => setTimeout(r, 1000)); // let the pool finish pre-starting
  // The receiver is two processes (listener and executor): both count.
  const receiverRss = async () => {
    const [a, b] = await Promise.all([rssOf(listening!.pid), rssOf(executorPid!)]);
    return { peakMiB: a.peakMiB + b.peakMiB, nowMiB: a.nowMiB + b.nowMiB };
  };
  const idleRss = await receiverRss();
  const keys = JSON.parse(await Deno.readTextFile(`${dir}/state/keys.json`));
  const secret: string = keys.keys[0].secrets[0];
  const url = `http://127.0.0.1:${listening.port}`;
  return {
    name: "rootfence",
    idleRss,
    async request(workload) {
      const response = await fetch(
        await signedRequest(`${url}/hooks/${workload.op}`, {
          secret,
          body: JSON.stringify(workload.input),
          headers: { prefer: "wait=60" },
        }),
      );
      const job = await response.json();
      if (response.status !== 200 || job.status !== "succeeded") {
        const code = job.result?.error?.code ?? job.code ?? job.status;
        throw new Error(`rootfence ${response.status} ${code}`);
      }
    },
    rss: receiverRss,
    async stop() {
      starter.kill("SIGTERM");
      await starter.status;
    },
  };
}
