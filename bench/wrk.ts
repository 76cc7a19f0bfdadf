/**
 * The wrk run: Debian's `wrk` drives a receiver with requests signed beforehand in Deno and
 * written to Lua tables, one file per wrk thread. Every request is sent once (each has its own
 * `webhook-id`), so no Deno client is in the loop and no request is a replay. A thread that runs
 * out of requests stops, and the run says so (its req/s is then a lower bound).
 *
 * Needs run permission for `wrk`, and read and write for the scratch folder.
 *
 * @module
 */

/** One request as wrk sends it. */
export interface WrkRequest {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What a wrk run measured. */
export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Answers by HTTP status. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Socket errors and timeouts (HTTP statuses are in `statuses`). */
  readonly socketErrors: number;
  /** Threads that ran out of pre-signed requests before the end. */
  readonly exhausted: number;
  /** When wrk ran, in ms since the epoch: one run's (merged rounds have none). */
  readonly window?: readonly [start: number, end: number];
}

/** Options of {@linkcode runWrk}. */
export interface WrkOptions {
  /** `http://host:port`. */
  readonly url: string;
  /** A scratch folder for the Lua files. */
  readonly dir: string;
  readonly connections: number;
  readonly seconds: number;
  /** How many requests to sign beforehand (wrk must not run out). */
  readonly count: number;
  /** The i-th request (0-based), signed. */
  request(i: number): Promise<WrkRequest>;
  /**
   * wrk threads.
   * @default {min(2, connections)}
   */
  readonly threads?: number;
}

/** The Lua side: each thread loads its own table and sends each entry once. */
const SCRIPT = `-- rootfence bench: each thread sends its own pre-signed requests, each once.
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  requests = dofile(args[1] .. "/requests_" .. id .. ".lua")
  index = 0
  counts = {}
  exhausted = 0
end
function request()
  index = index + 1
  if index > #requests then
    exhausted = 1
    index = #requests
    wrk.thread:stop()
  end
  return requests[index]
end
function response(status, headers, body)
  local key = tostring(status)
  counts[key] = (counts[key] or 0) + 1
end
function done(summary, latency, requests)
  local statuses = {}
  local exhausted = 0
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("counts")) do statuses[k] = (statuses[k] or 0) + v end
    exhausted = exhausted + thread:get("exhausted")
  end
  local parts = {}
  for k, v in pairs(statuses) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"durationUs":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,' ..
    '"socketErrors":%d,"statuses":{%s},"exhausted":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout,
    table.concat(parts, ","), exhausted))
end
`;

/** A raw HTTP/1.1 request, as a Lua string literal (ASCII only: JSON's escapes are Lua's). */
function luaRequest(host: string, request: WrkRequest): string {
  const lines = [
    `${request.method} ${request.path} HTTP/1.1`,
    `Host: ${host}`,
    ...Object.entries(request.headers).map(([name, value]) => `${name}: ${value}`),
    ...(request.method === "POST" ? [`Content-Length: ${request.body.length}`] : []),
    "",
    request.body,
  ];
  const text = lines.join("\r\n");
  if (!/^[\x20-\x7e\r\n]*$/.test(text)) {
    throw new RangeError("Cannot write a wrk request: not printable ASCII");
  }
  return JSON.stringify(text);
}

/**
 * Signs `count` requests, splits them between wrk's threads and runs wrk for `seconds`.
 *
 * @param options Where, how hard, for how long, and the requests.
 * @returns What wrk measured.
 * @throws {Error} When wrk fails or prints no result.
 */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const { url, dir, connections, seconds, count } = options;
  const threads = options.threads ?? Math.min(2, connections);
  const host = new URL(url).host;
  const tables: string[][] = Array.from({ length: threads }, () => []);
  for (let i = 0; i < count; i++) {
    tables[i % threads]!.push(luaRequest(host, await options.request(i)));
  }
  for (const [t, entries] of tables.entries()) {
    await Deno.writeTextFile(
      `${dir}/requests_${t + 1}.lua`,
      `return {\n${entries.join(",\n")}\n}\n`,
    );
  }
  await Deno.writeTextFile(`${dir}/bench.lua`, SCRIPT);
  const startedAt = Date.now();
  const output = await new Deno.Command("wrk", {
    args: [
      `-t${threads}`,
      `-c${connections}`,
      `-d${seconds}s`,
      "--timeout",
      "60s",
      "-s",
      `${dir}/bench.lua`,
      url,
      "--",
      dir,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const endedAt = Date.now();
  const text = new TextDecoder().decode(output.stdout);
  const line = text.split("\n").find((l) => l.startsWith("RESULT "));
  if (!output.success || line === undefined) {
    const why = new TextDecoder().decode(output.stderr).trim() || text.trim();
    throw new Error(`Cannot run wrk: ${why.split("\n").slice(-3).join(" ")}`);
  }
  const raw = JSON.parse(line.slice("RESULT ".length));
  for (let t = 1; t <= threads; t++) await Deno.remove(`${dir}/requests_${t}.lua`);
  const ms = (us: number) => +(us / 1000).toFixed(2);
  const seconds_ = raw.durationUs / 1e6;
  return {
    requests: raw.requests,
    seconds: +seconds_.toFixed(2),
    rps: +(raw.requests / seconds_).toFixed(1),
    p50Ms: ms(raw.p50),
    p90Ms: ms(raw.p90),
    p99Ms: ms(raw.p99),
    maxMs: ms(raw.max),
    statuses: raw.statuses,
    socketErrors: raw.socketErrors,
    exhausted: raw.exhausted,
    window: [startedAt, endedAt],
  };
}

/**
 * One result from runs of the same system taken in turn with the others (rounds): counts add
 * up, req/s is over the rounds' whole time, the max is the largest, and each percentile is the
 * median of the rounds' (wrk reports percentiles, not its samples).
 *
 * @throws {RangeError} For no results.
 */
export function mergeRounds(results: readonly WrkResult[]): WrkResult {
  if (results.length === 0) throw new RangeError("Cannot merge no wrk results");
  const median = (pick: (r: WrkResult) => number) => {
    const sorted = results.map(pick).sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : +((sorted[mid - 1]! + sorted[mid]!) / 2)
      .toFixed(2);
  };
  const sum = (pick: (r: WrkResult) => number) => results.reduce((a, r) => a + pick(r), 0);
  const statuses: Record<string, number> = {};
  for (const result of results) {
    for (const [status, n] of Object.entries(result.statuses)) {
      statuses[status] = (statuses[status] ?? 0) + n;
    }
  }
  const requests = sum((r) => r.requests);
  const seconds = +sum((r) => r.seconds).toFixed(2);
  return {
    requests,
    seconds,
    rps: +(requests / seconds).toFixed(1),
    p50Ms: median((r) => r.p50Ms),
    p90Ms: median((r) => r.p90Ms),
    p99Ms: median((r) => r.p99Ms),
    maxMs: Math.max(...results.map((r) => r.maxMs)),
    statuses,
    socketErrors: sum((r) => r.socketErrors),
    exhausted: sum((r) => r.exhausted),
  };
}
