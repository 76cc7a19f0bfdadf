/**
 * A real receiver on loopback for tests: started with `deno task start` exactly as an operator
 * would, with a state dir and recording fakes of its own.
 *
 * @module
 */
import { signedRequest } from "../runtime/cli/client.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** A running receiver. */
export interface Receiver {
  readonly url: string;
  /** `deno task start`, as an operator signals it: it relays signals on to the executor. */
  readonly starterPid: number;
  /** The executor (keys, journal, children): neither the starter nor the listener. */
  readonly pid: number;
  /** The listener (HTTP). */
  readonly listenerPid: number;
  /** The executor's ready line: recovery counts, keys. */
  readonly ready: Record<string, unknown>;
  readonly stateDir: string;
  readonly secret: string;
  /** Every JSON line it logged so far. */
  readonly lines: Record<string, unknown>[];
  /** What the starter and its processes wrote to stderr so far. */
  stderr(): string;
  send(
    op: string,
    body: unknown,
    options?: { id?: string; wait?: number; headers?: Record<string, string> },
  ): Promise<Response>;
  read(path: string): Promise<Response>;
  /** SIGTERM, then wait for the starter to exit; returns its exit code. */
  stop(): Promise<number>;
  /** SIGKILL of the receiver itself (no shutdown at all). */
  crash(): Promise<void>;
}

/** Starts a receiver; `args` go to `deno task start` after the state dir and port. */
export async function startReceiver(
  stateDir: string,
  args: string[] = [],
  options: { readonly deno?: string } = {},
): Promise<Receiver> {
  const starter = new Deno.Command(options.deno ?? Deno.execPath(), {
    args: ["task", "-q", "start", "--state-dir", stateDir, "--port", "0", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  void (async () => {
    for await (const chunk of starter.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  let ready: Record<string, unknown> | undefined;
  let heard: Record<string, unknown> | undefined;
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    void (async () => {
      let buffer = "";
      for await (const chunk of starter.stdout.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = JSON.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 1);
          lines.push(line);
          if (line.kind === "ready") ready = line;
          if (line.kind === "listening") heard = line;
          if (ready !== undefined && heard !== undefined) resolve(heard);
        }
      }
      reject(new Error(`receiver exited before listening: ${stderr}`));
    })();
  });
  const listened = await listening;
  const url = `http://127.0.0.1:${listened.port}`;
  const executor = ready!;
  const keys = JSON.parse(await Deno.readTextFile(`${stateDir}/keys.json`));
  const secret: string = keys.keys[0].secrets[0];
  return {
    url,
    starterPid: starter.pid,
    pid: executor.pid as number,
    listenerPid: listened.pid as number,
    ready: executor,
    stateDir,
    secret,
    lines,
    stderr: () => stderr,
    async send(op, body, options = {}) {
      return await fetch(
        await signedRequest(`${url}/hooks/${op}`, {
          secret,
          body: JSON.stringify(body),
          ...(options.id === undefined ? {} : { id: options.id }),
          headers: {
            ...options.headers,
            ...(options.wait === undefined ? {} : { prefer: `wait=${options.wait}` }),
          },
        }),
      );
    },
    async read(path) {
      return await fetch(await signedRequest(`${url}${path}`, { secret }));
    },
    async stop() {
      starter.kill("SIGTERM");
      return (await starter.status).code;
    },
    async crash() {
      Deno.kill(executor.pid as number, "SIGKILL");
      await starter.status;
    },
  };
}
