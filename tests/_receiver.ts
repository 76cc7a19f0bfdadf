/**
 * A real receiver on loopback for tests: started with `deno task start` exactly as an operator
 * would, with a state dir and recording fakes of its own.
 *
 * @module
 */
import http from "node:http";
import { Readable } from "node:stream";
import { signedRequest } from "../runtime/cli/client.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** A running receiver. */
export interface Receiver {
  /** `http://127.0.0.1:<port>`, `https://...` with TLS, `http://localhost` on a Unix socket. */
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
  /** `fetch`, through the TLS client or Unix socket it was started with. */
  fetch(input: Request | string, init?: RequestInit): Promise<Response>;
  /** SIGTERM, then wait for the starter to exit; returns its exit code. */
  stop(): Promise<number>;
  /** SIGKILL of the receiver itself (no shutdown at all). */
  crash(): Promise<void>;
}

/**
 * A `fetch` over a Unix socket, as a reverse proxy sends it: origin-form (`GET /path`). Deno's
 * `createHttpClient({ proxy: { transport: "unix" } })` talks to a proxy (`GET http://host/path`),
 * which the listener refuses like any absolute-form target.
 */
export function unixFetch(socketPath: string): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
    const answer = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const sent = http.request({
        socketPath,
        method: request.method,
        path: url.pathname + url.search,
        headers: Object.fromEntries(request.headers),
        signal: request.signal,
      }, resolve);
      sent.on("error", reject);
      sent.end(body);
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      for (const one of [value ?? []].flat()) headers.append(name, one);
    }
    const status = answer.statusCode ?? 502;
    const empty = request.method === "HEAD" || [204, 304].includes(status);
    if (empty) answer.resume();
    return new Response(empty ? null : Readable.toWeb(answer) as ReadableStream<Uint8Array>, {
      status,
      headers,
    });
  };
}

/** Options of {@linkcode startReceiver}. */
export interface StartReceiverOptions {
  /** The Deno binary that runs `deno task start`. */
  readonly deno?: string;
  /**
   * How requests reach it: `fetch` with a `Deno.createHttpClient` that trusts the test's CA for
   * TLS, or {@linkcode unixFetch} for `--listen unix:` (then it is started without `--port 0`).
   * @default {fetch}
   */
  readonly fetch?: (request: Request) => Promise<Response>;
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
  const through = options.fetch ?? ((request: Request) => fetch(request));
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
      return await through(
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
      return await through(await signedRequest(`${url}${path}`, { secret }));
    },
    fetch(input, init) {
      return through(new Request(input, init));
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

/** `deno task keygen` with `args`, as an operator runs it; fails the test when it fails. */
export async function keygen(...args: string[]): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "keygen", ...args],
    cwd: root,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (output.code !== 0) {
    throw new Error(`keygen ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** What a start that ended by itself printed. */
export interface Ended {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `deno task start` on `stateDir` (with `--port 0` unless `args` has `--listen`), waited for until
 * it exits: for starts that must be refused.
 */
export async function startToExit(
  stateDir: string,
  args: readonly string[] = [],
  options: { readonly deno?: string; readonly env?: Record<string, string> } = {},
): Promise<Ended> {
  const port = args.includes("--listen") ? [] : ["--port", "0"];
  const output = await new Deno.Command(options.deno ?? Deno.execPath(), {
    args: ["task", "-q", "start", "--state-dir", stateDir, ...port, ...args],
    cwd: root,
    ...(options.env === undefined ? {} : { env: options.env }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return {
    code: output.code,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
  };
}
