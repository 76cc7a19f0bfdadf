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
  /** `http://127.0.0.1:<port>`, `https://...` with TLS, `http://localhost` on a Unix socket. */
  readonly url: string;
  /** What `send`, `read` and `fetch` reach it through (a CA or a Unix socket), if anything. */
  readonly client?: Deno.HttpClient;
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
  /** `fetch` through {@linkcode client}. */
  fetch(input: Request | string, init?: RequestInit): Promise<Response>;
  /** SIGTERM, then wait for the starter to exit; returns its exit code. */
  stop(): Promise<number>;
  /** SIGKILL of the receiver itself (no shutdown at all). */
  crash(): Promise<void>;
}

/** Options of {@linkcode startReceiver}. */
export interface StartReceiverOptions {
  /** The Deno binary that runs `deno task start`. */
  readonly deno?: string;
  /**
   * What requests go through: `Deno.createHttpClient` with the test's CA for TLS, or with a
   * Unix socket proxy for `--listen unix:`. Such a receiver is started without `--port 0`.
   */
  readonly client?: Deno.HttpClient;
}

/**
 * Starts a receiver; `args` go to `deno task start` after the state dir and (unless `args` has
 * `--listen`) `--port 0`.
 */
export async function startReceiver(
  stateDir: string,
  args: string[] = [],
  options: StartReceiverOptions = {},
): Promise<Receiver> {
  const { client } = options;
  const port = args.includes("--listen") ? [] : ["--port", "0"];
  const starter = new Deno.Command(options.deno ?? Deno.execPath(), {
    args: ["task", "-q", "start", "--state-dir", stateDir, ...port, ...args],
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
  const scheme = listened.tls === undefined ? "http" : "https";
  const url = listened.path === undefined
    ? `${scheme}://127.0.0.1:${listened.port}`
    : `${scheme}://localhost`;
  const through = (init: RequestInit = {}) => client === undefined ? init : { ...init, client };
  const executor = ready!;
  const keys = JSON.parse(await Deno.readTextFile(`${stateDir}/keys.json`));
  const secret: string = keys.keys[0].secrets[0];
  return {
    url,
    ...(client === undefined ? {} : { client }),
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
        through(),
      );
    },
    async read(path) {
      return await fetch(await signedRequest(`${url}${path}`, { secret }), through());
    },
    fetch(input, init) {
      return fetch(input, through(init));
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
