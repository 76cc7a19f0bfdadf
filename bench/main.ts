/**
 * `deno task bench [--quick] [--json] [--write]`: the same workloads on loopback, each system
 * with its defaults: the bare binary (floor), Debian's `webhook` (peer) and rootfence (a signed
 * request through the listener, the executor and a pooled fenced child). Two clients drive
 * them: a Deno client, interleaved so machine drift hits every system alike, and Debian's `wrk`
 * with requests signed beforehand. The apples-to-apples rows send `Cache-Control: no-cache`, so
 * every rootfence request runs the binary as every peer request does; separate rows show 32
 * monitors polling one op, which rootfence answers with shared runs. Prints the figures and, on
 * a full run (or with --write), writes BENCHMARKS.md from them.
 *
 * @module
 */
import {
  HELP,
  parseCli,
  printUsage,
  printUsageError,
  runCli,
  UsageError,
} from "../runtime/cli/usage.ts";
import {
  type BenchResults,
  type CoalescedRow,
  type HeldRound,
  heldRuns,
  judgeTargets,
  type LoadSample,
  renderMarkdown,
  renderTable,
  REST_MS,
  type Row,
  type WrkRow,
} from "./_report.ts";
import { breakdown } from "./breakdown.ts";
import { floors } from "./floors.ts";
import { drive, percentile } from "./stats.ts";
import {
  cpuBetween,
  floor,
  type HttpSystem,
  type ProcessMemory,
  rootfence,
  shape,
  type System,
  webhook,
  type Workload,
} from "./systems.ts";
import { mergeRounds, runWrk, type WrkResult } from "./wrk.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
const fixtures = Deno.env.get("ROOTFENCE_FIXTURES") ?? `${root}tests/testdata`;
const SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

async function sh(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return new TextDecoder().decode(out.stdout).trim() || new TextDecoder().decode(out.stderr).trim();
}

/** Installs the peer, wrk and the real binary from Debian when they are missing. */
async function ensureTools(): Promise<void> {
  const missing: string[] = [];
  if (!await exists("/usr/bin/webhook")) missing.push("webhook");
  if (!await exists("/usr/bin/wrk")) missing.push("wrk");
  if (!await exists("/usr/bin/sensors")) missing.push("lm-sensors");
  if (missing.length === 0) return;
  console.error(`bench: installing ${missing.join(", ")} (apt-get install -y)`);
  const out = await new Deno.Command("apt-get", { args: ["install", "-y", "-qq", ...missing] })
    .output();
  if (out.code !== 0) throw new Error(`Cannot install ${missing.join(", ")}; install and rerun`);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function machine(): Promise<Record<string, string>> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/^model name\s*:\s*(.*)$/m)?.[1];
  return {
    cpu: `${navigator.hardwareConcurrency} × ${cpu ?? "unknown"}`,
    memory: `${Math.round(Deno.systemMemoryInfo().total / 2 ** 30)} GiB`,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    webhook: await sh("webhook", "-version"),
    wrk: (await sh("wrk", "--version")).split("\n")[0]?.split(" Copyright")[0] ?? "",
    sensors: (await sh("sensors", "-v")).split("\n")[0] ?? "",
    date: new Date().toISOString(),
  };
}

/** The load average now (1, 5 and 15 minutes), labelled. */
function loadSample(label: string): LoadSample {
  const [one, five, fifteen] = Deno.readTextFileSync("/proc/loadavg").split(" ");
  return { label, at: new Date().toISOString(), loadavg: `${one} ${five} ${fifteen}` };
}

function row(
  system: string,
  workload: string,
  c: number,
  lat: number[],
  wall: number,
  errors: number,
): Row {
  return {
    system,
    workload,
    concurrency: c,
    requests: lat.length,
    errors,
    p50Ms: +percentile(lat, 50).toFixed(2),
    p90Ms: +percentile(lat, 90).toFixed(2),
    p99Ms: +percentile(lat, 99).toFixed(2),
    rps: +(lat.length / (wall / 1000)).toFixed(1),
  };
}

/** Runs `total` requests per system at concurrency `c`, interleaved in `rounds`. */
async function measure(
  systems: readonly System[],
  workload: Workload,
  c: number,
  total: number,
  rounds: number,
): Promise<Row[]> {
  const acc = new Map(systems.map((s) => [s.name, { lat: [] as number[], wall: 0, errors: 0 }]));
  const chunk = Math.ceil(total / rounds);
  for (let r = 0; r < rounds; r++) {
    for (const system of systems) {
      const result = await drive(chunk, c, (i) => system.request(workload, r * chunk + i));
      const a = acc.get(system.name)!;
      a.lat.push(...result.latencies);
      a.wall += result.wallMs;
      a.errors += result.errors;
    }
  }
  return systems.map((s) => {
    const a = acc.get(s.name)!;
    return row(s.name, workload.name, c, a.lat, a.wall, a.errors);
  });
}

/**
 * wrk against each receiver for `seconds` in all, in `rounds` turns taken one system after the
 * other (so machine drift hits every system alike, as the Deno client's rounds do); every
 * request signed beforehand and sent once.
 */
async function measureWrk(
  systems: readonly HttpSystem[],
  workload: Workload,
  c: number,
  seconds: number,
  rounds: number,
  dir: string,
): Promise<WrkRow[]> {
  const each = seconds / rounds;
  // More than either receiver can answer in the time, so no thread runs out.
  const count = Math.ceil(each * (c === 1 ? 1500 : 3000));
  const results = new Map(systems.map((s) => [s.name, [] as WrkResult[]]));
  const cpu = new Map(systems.map((s) => [s.name, {} as Record<string, number>]));
  const journaled: HeldRound[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const system of systems) {
      const before = system.cpu();
      const result = await runWrk({
        url: system.url,
        dir,
        connections: c,
        seconds: each,
        count,
        request: (i) => system.wrkRequest(workload, round * count + i),
      });
      results.get(system.name)!.push(result);
      if (system.runs !== undefined && result.window !== undefined) {
        const [start, end] = result.window;
        journaled.push({ start, end, runs: system.runs(workload.op, start, Date.now()) });
      }
      const used = cpu.get(system.name)!;
      for (const [role, ms] of Object.entries(cpuBetween(before, system.cpu()))) {
        used[role] = (used[role] ?? 0) + ms;
      }
    }
  }
  const held = heldRuns(journaled);
  return systems.map((system) => {
    const merged = mergeRounds(results.get(system.name)!);
    const cpuMsPerRequest: Record<string, number> = {};
    for (const [role, ms] of Object.entries(cpu.get(system.name)!)) {
      const used = ms / Math.max(1, merged.requests);
      if (used > 0.005) cpuMsPerRequest[role] = +used.toFixed(3);
    }
    return {
      system: system.name,
      workload: workload.name,
      concurrency: c,
      ...merged,
      cpuMsPerRequest,
      rounds: results.get(system.name)!.map(({ p50Ms, p99Ms, rps }) => ({ p50Ms, p99Ms, rps })),
      ...(held === undefined || system.runs === undefined ? {} : { held }),
    };
  });
}

/** 32 monitors polling one op: rootfence may share runs; the peer runs the binary each time. */
async function measureCoalesced(
  peer: HttpSystem,
  receiver: Awaited<ReturnType<typeof rootfence>>,
  workload: Workload,
  total: number,
): Promise<CoalescedRow[]> {
  const rows: CoalescedRow[] = [];
  const peerRun = await drive(total, 32, (i) => peer.request(workload, i));
  rows.push({
    ...row(peer.name, workload.name, 32, peerRun.latencies, peerRun.wallMs, peerRun.errors),
    hostRuns: peerRun.latencies.length,
  });
  const servedBy = new Set<string>();
  const polled = await drive(total, 32, async () => {
    servedBy.add(await receiver.poll(workload));
  });
  rows.push({
    ...row("rootfence", workload.name, 32, polled.latencies, polled.wallMs, polled.errors),
    hostRuns: servedBy.size,
  });
  return rows;
}

/** A workload rootfence serves from a fake on the bin path (the floor and peer are not run). */
const FAKE_SENSORS: Workload = { name: "sensors", op: "sensors", input: {}, binary: "", args: [] };

function total(processes: readonly ProcessMemory[], key: "rssMiB" | "pssMiB"): number {
  return processes.reduce((sum, p) => sum + p[key], 0);
}

/**
 * `inFlight` requests at once against a fake `sensors` that sleeps 1 s, every process of the
 * receiver sampled every 100 ms: with `no-cache` (each wants its own run) and as monitors send
 * them (identical reads share queued runs).
 */
async function memoryUnderLoad(binDir: string, dir: string, inFlight: number) {
  await Deno.writeTextFile(`${binDir}/sensors`, "#!/bin/sh\nsleep 1\nprintf '{}'\nexit 1\n");
  await Deno.chmod(`${binDir}/sensors`, 0o755);
  const runs = [];
  for (const mode of ["no-cache", "shared"] as const) {
    const server = await rootfence(`${binDir}:${SYSTEM_PATH}`, `${dir}/slow-${mode}`);
    let peakRss = 0;
    let peakPss = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = server.processes();
        peakRss = Math.max(peakRss, total(now, "rssMiB"));
        peakPss = Math.max(peakPss, total(now, "pssMiB"));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const results = await Promise.all(Array.from({ length: inFlight }, async () => {
      try {
        if (mode === "no-cache") await server.request(FAKE_SENSORS, 0);
        else await server.poll(FAKE_SENSORS);
        return "200";
      } catch (error) {
        return /rootfence (\d+)/.exec(String(error))?.[1] ?? "error";
      }
    }));
    sampling = false;
    await sampler;
    const statuses: Record<string, number> = {};
    for (const status of results) statuses[status] = (statuses[status] ?? 0) + 1;
    await server.stop();
    runs.push({ mode, inFlight, peakRssMiB: peakRss, peakPssMiB: peakPss, statuses });
  }
  return runs;
}

async function flood(binDir: string, dir: string) {
  await Deno.writeTextFile(
    `${binDir}/sensors`,
    "#!/bin/sh\nhead -c 104857600 /dev/zero | tr '\\0' 'x'\n",
  );
  await Deno.chmod(`${binDir}/sensors`, 0o755);
  const server = await rootfence(`${binDir}:${SYSTEM_PATH}`, `${dir}/flood`);
  const before = await server.rss();
  const error = await server.request(FAKE_SENSORS, 0).then(() => "none", (e) => String(e));
  const after = await server.rss();
  await server.stop();
  return { before, after, error };
}

const USAGE = `Usage: deno task bench [--quick] [--json] [--write]

Runs the same workloads on the bare binary, Debian's webhook and rootfence, each with its
defaults: a Deno client (interleaved rounds), then wrk with pre-signed requests, then 32
monitors polling one op. Takes 6 to 8 minutes (--quick: about 2) and all of both cores.

  --quick  fewer requests and shorter runs (does not write BENCHMARKS.md unless --write)
  --json   print the measurements as JSON instead of the table
  --write  write BENCHMARKS.md even on a quick run`;

export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseCli({
      args,
      options: {
        quick: { type: "boolean" },
        json: { type: "boolean" },
        write: { type: "boolean" },
        help: HELP,
      },
      strict: true,
    }).values;
  } catch (error) {
    if (error instanceof UsageError) return printUsageError(error, "deno task bench");
    throw error;
  }
  if (values.help) return printUsage(USAGE);
  const quick = values.quick ?? false;
  const sizes = quick
    ? {
      warm: 10,
      latency: 60,
      throughput: 120,
      rounds: 3,
      inFlight: 300,
      wrkSeconds: 3,
      polls: 320,
    }
    : {
      warm: 30,
      latency: 400,
      throughput: 800,
      rounds: 5,
      inFlight: 1000,
      wrkSeconds: 10,
      polls: 1600,
    };
  await ensureTools();
  const load = [loadSample("start")];
  const dir = await Deno.makeTempDir({ prefix: "rootfence-bench-" });
  const binDir = `${dir}/bin`;
  await Deno.mkdir(binDir);
  const workloads: Workload[] = [
    { name: "sensors", op: "sensors", input: {}, binary: "/usr/bin/sensors", args: ["-j"] },
  ];
  const capture = `${fixtures}/smartctl/nvme-samsung-970evo-plus-250g-7.3.json`;
  if (await exists(capture)) {
    await Deno.writeTextFile(`${binDir}/smartctl`, `#!/bin/sh\ncat '${capture}'\n`);
    await Deno.chmod(`${binDir}/smartctl`, 0o755);
    workloads.push({
      name: "smart",
      op: "smart",
      input: { device: "/dev/nvme0" },
      binary: `${binDir}/smartctl`,
      args: ["-a", "-j", "/dev/nvme0"],
    });
  } else {
    console.error(`bench: skipping the smart workload: no capture at ${capture}`);
  }
  const peer = await webhook(workloads, dir);
  // Defaults only: the pool holds up to --max-running children per read-only op.
  const receiver = await rootfence(`${binDir}:${SYSTEM_PATH}`, dir);
  const receiverUp = Date.now();
  // wrk only: what the fence's process layout costs before rootfence does any work.
  const bare = await shape(workloads, dir);
  // wrk only: the same layout with the work no receiver can skip, and nothing else.
  const worked = await shape(workloads, dir, { work: true });
  // V8's memory reducer gives back what start-up left about 30 s after a quiet start (the
  // executor went from 41 to 32 MiB of anonymous memory): the receiver at rest is sampled once it
  // has run that long with nothing sent.
  await new Promise((r) => setTimeout(r, Math.max(0, REST_MS - (Date.now() - receiverUp))));
  const atRest = receiver.processes();
  const systems: System[] = [floor(), peer, receiver];
  const rows: Row[] = [];
  const wrkRows: WrkRow[] = [];
  const coalesced: CoalescedRow[] = [];
  let afterRuns: ProcessMemory[] = [];
  try {
    for (const workload of workloads) {
      for (const system of systems) {
        await drive(sizes.warm, 1, (i) => system.request(workload, i));
      }
      rows.push(...await measure(systems, workload, 1, sizes.latency, sizes.rounds));
      for (const c of [8, 32]) {
        rows.push(...await measure(systems, workload, c, sizes.throughput, sizes.rounds));
      }
      load.push(loadSample(`after the Deno client, ${workload.name}`));
      for (const shaped of [bare, worked]) {
        await drive(sizes.warm, 1, (i) => shaped.request(workload, i));
      }
      for (const c of [1, 32]) {
        wrkRows.push(
          ...await measureWrk(
            [peer, bare, worked, receiver],
            workload,
            c,
            sizes.wrkSeconds,
            sizes.rounds,
            dir,
          ),
        );
      }
      load.push(loadSample(`after wrk, ${workload.name}`));
      coalesced.push(...await measureCoalesced(peer, receiver, workload, sizes.polls));
    }
    afterRuns = receiver.processes();
  } finally {
    for (const system of [...systems, bare, worked]) await system.stop();
  }
  const parts = await breakdown(SYSTEM_PATH, quick ? 50 : 200);
  const measuredFloors = await floors(quick ? 200 : 1000);
  const underLoad = await memoryUnderLoad(binDir, dir, sizes.inFlight);
  const flooded = await flood(binDir, dir);
  load.push(loadSample("end"));
  await Deno.remove(dir, { recursive: true });
  const results: BenchResults = {
    info: await machine(),
    sizes,
    load,
    rows,
    wrk: wrkRows,
    coalesced,
    breakdown: parts,
    floors: measuredFloors,
    memory: { idle: receiver.idle, atRest, afterRuns, underLoad, flood: flooded },
    targets: [],
  };
  results.targets = judgeTargets(results);
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else {
    console.log(renderTable(rows, wrkRows, coalesced));
    console.log(
      JSON.stringify(
        { breakdown: parts, floors: measuredFloors, targets: results.targets },
        null,
        2,
      ),
    );
  }
  if (!quick || values.write) {
    await Deno.writeTextFile(`${root}BENCHMARKS.md`, renderMarkdown(results));
    // As `deno fmt --check` wants it (tables padded, lines wrapped).
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", `${root}BENCHMARKS.md`] })
      .output();
    console.error("bench: wrote BENCHMARKS.md");
  }
  return 0;
}

if (import.meta.main) Deno.exit(await runCli(main, "deno task bench", Deno.args));
