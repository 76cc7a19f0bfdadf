/**
 * The shape's executor: serves request lines from its listener on a Unix socket, each run by a
 * pooled child of its workload (four per workload, as rootfence's default running limit), and
 * starts the listener itself so one process tree holds the whole shape. With `--work=<secret>`,
 * each request also gets the work no receiver can skip (`work.ts`), and its child the op's
 * schema and parser.
 *
 * Usage: `deno run -A executor.ts <dir> <port> <workloads JSON> [--work=<secret>]`; prints
 * `ready` once listening.
 *
 * @module
 */
const [dir, port, spec, workFlag] = Deno.args as [string, string, string, string?];
const secret = workFlag?.slice("--work=".length);
const workloads: { name: string; binary: string; args: string[] }[] = JSON.parse(spec);
const POOL = 4;
const text = new TextDecoder();
const out = new TextEncoder();

/** Yields the lines of a byte stream. */
async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream) {
    buffered += text.decode(chunk, { stream: true });
    for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
      yield buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
    }
  }
}

class Child {
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #replies: AsyncGenerator<string>;
  constructor(workload: { name: string; binary: string; args: string[] }) {
    const process = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--allow-run=${workload.binary}`,
        new URL("child.ts", import.meta.url).pathname,
        `--op=${workload.name}`,
        ...(secret === undefined ? [] : ["--work"]),
        workload.binary,
        ...workload.args,
      ],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    this.#stdin = process.stdin.getWriter();
    this.#replies = linesOf(process.stdout);
  }
  async run(line: string): Promise<string> {
    await this.#stdin.write(out.encode(line + "\n"));
    const { value } = await this.#replies.next();
    return value ?? "";
  }
}

class Pool {
  readonly #free: Child[] = [];
  readonly #waiting: ((child: Child) => void)[] = [];
  constructor(workload: { name: string; binary: string; args: string[] }) {
    for (let i = 0; i < POOL; i++) this.#free.push(new Child(workload));
  }
  async run(line: string): Promise<string> {
    const child = this.#free.pop() ?? await new Promise<Child>((r) => this.#waiting.push(r));
    try {
      return await child.run(line);
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#free.push(child);
      else next(child);
    }
  }
}

const pools = new Map(workloads.map((w) => [w.name, new Pool(w)]));
const serve = secret === undefined
  ? async (name: string) => await pools.get(name)?.run("{}") ?? ""
  : await (await import("./work.ts")).worker(
    dir,
    secret,
    async (op, line) => await pools.get(op)?.run(line) ?? "",
  );
const socket = `${dir}/shape${secret === undefined ? "" : "-work"}.sock`;
const server = Deno.listen({ transport: "unix", path: socket });
new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    `--allow-net=127.0.0.1:${port},unix:${socket}`,
    `--allow-read=${socket}`,
    `--allow-write=${socket}`,
    new URL("listener.ts", import.meta.url).pathname,
    socket,
    port,
    ...(secret === undefined ? [] : ["--work"]),
  ],
}).spawn();
console.log("ready");
for await (const conn of server) {
  void (async () => {
    for await (const name of linesOf(conn.readable)) {
      const reply = await serve(name).catch((error) => JSON.stringify({ error: String(error) }));
      await conn.write(out.encode(reply + "\n"));
    }
  })().catch(() => {});
}
