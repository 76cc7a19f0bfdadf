/**
 * `deno task chaos [--quick] [--out RELIABILITY.md] [--only 1,8]`: runs each fault of issue 10
 * against the real receiver (`deno task start`, with recording fakes of the host commands),
 * one phase at a time, each with its own state dir and port 0, and writes RELIABILITY.md: per
 * fault its setup, promise, observed outcome, every figure as measured and a verdict computed
 * from them. Misses are reported, never retried away. Needs root (a tmpfs for the full-disk
 * fault, /proc of every process) and `--allow-all` (it starts receivers as an operator would).
 *
 * @module
 */
import { parseArgs } from "../runtime/args.ts";
import { childKill, executorKill, sameVmidKill } from "./_chaos_crash.ts";
import { type Fault, Phase, type Scale, scaleOf } from "./_chaos_context.ts";
import { fullDisk } from "./_chaos_disk.ts";
import { drain, secondReceiver, starterKill } from "./_chaos_lifecycle.ts";
import { hostileClients, keyFlood } from "./_chaos_clients.ts";
import { load } from "./_chaos_load.ts";
import { type FaultRun, renderReliability, verdictOf } from "./_chaos_report.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** Every fault, in the order of issue 10. */
export const FAULTS: readonly Fault[] = [
  executorKill,
  sameVmidKill,
  childKill,
  secondReceiver,
  starterKill,
  fullDisk,
  drain,
  hostileClients,
  keyFlood,
  load,
];

/** The longest a phase may take before it is reported as a miss and its processes ended. */
const PHASE_TIMEOUT_MS = 180_000;

const HELP = `Usage: deno task chaos [options]

Runs the reliability faults against the real receiver and writes a report.

  --out <file>    where to write the report (default RELIABILITY.md, in the project)
  --quick         smaller sizes (fewer sockets and triggers), for a run of about 3 minutes
  --only <ids>    run only these faults, e.g. --only 1,8 (the report then holds only them)
  --help          this text

Exits 0 once the report is written, whatever the verdicts (they are findings, not errors);
2 for a usage error.`;

/** Runs one fault in a phase of its own; never throws. */
export async function runFault(fault: Fault, scale: Scale): Promise<FaultRun> {
  const phase = new Phase(scale);
  const head = {
    id: fault.id,
    title: fault.title,
    setup: fault.setup(scale),
    promise: fault.promise,
  };
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const skipped = await fault.skip?.();
  if (skipped !== undefined) {
    return { ...head, observed: "", figures: [], seconds: 0, skipped };
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const observed = await Promise.race([
      fault.run(phase),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${PHASE_TIMEOUT_MS / 1000} s`)),
          PHASE_TIMEOUT_MS,
        );
      }),
    ]);
    return { ...head, observed, figures: phase.sheet.figures, seconds: seconds() };
  } catch (error) {
    return {
      ...head,
      observed: "",
      figures: phase.sheet.figures,
      seconds: seconds(),
      error: oneLine(error instanceof Error ? error.message : String(error)),
    };
  } finally {
    clearTimeout(timer);
    await phase.close();
  }
}

/** An error as one readable line: no terminal colours, no line breaks, at most 300 characters. */
export function oneLine(message: string): string {
  // deno-lint-ignore no-control-regex
  const plain = message.replace(/\x1b\[[0-9;]*m/g, "").replace(/\s+/g, " ").trim();
  return plain.length > 300 ? `${plain.slice(0, 299)}…` : plain;
}

async function text(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, {
      args,
      cwd: root,
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return new TextDecoder().decode(out.stdout);
  } catch {
    return "";
  }
}

function loads(load: readonly number[]): string {
  return `${load.map((n) => n.toFixed(2)).join(", ")} (1, 5, 15 min)`;
}

async function machine(loadAtStart: readonly number[]): Promise<Record<string, string>> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/^model name\s*:\s*(.*)$/m)?.[1];
  const bundle = await Deno.readFile(`${root}dist/listener.js`).catch(() => undefined);
  const digest = bundle === undefined
    ? "missing"
    : new Uint8Array(await crypto.subtle.digest("SHA-256", bundle)).toHex().slice(0, 12);
  const changed = (await text("git", ["status", "--porcelain", "--", "runtime", "ops", "dist"]))
    .split("\n").filter(Boolean).map((line) => line.slice(3));
  const receiverFiles = changed.filter((f) => /^(runtime\/server\/|dist\/)/.test(f));
  const head = (await text("git", ["rev-parse", "--short", "HEAD"])).trim() || "unknown";
  return {
    cores: `${navigator.hardwareConcurrency} × ${cpu ?? "unknown"}`,
    memory: `${Math.round(Deno.systemMemoryInfo().total / 2 ** 30)} GiB`,
    kernel: Deno.osRelease(),
    "load average": `${loads(loadAtStart)} at the start, ${loads(Deno.loadavg())} at the end ` +
      "(the machine is shared with other work)",
    deno: `${Deno.version.deno} (V8 ${Deno.version.v8})`,
    code: `commit ${head}; ` +
      (changed.length === 0
        ? "no uncommitted changes under runtime/, ops/ or dist/"
        : `plus uncommitted changes in ${changed.length} files under runtime/, ops/ and dist/` +
          (receiverFiles.length === 0 ? "" : `, among them ${receiverFiles.join(", ")}`)),
    "listener bundle": `dist/listener.js sha256 ${digest}… (what the listener runs)`,
    "listener user":
      "root (`--listener-user root`: user nobody cannot execute the npx-cached Deno " +
      "here)",
  };
}

/** Runs the chaos phases and writes the report; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        out: { type: "string", default: "RELIABILITY.md" },
        quick: { type: "boolean", default: false },
        only: { type: "string" },
        help: { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`chaos: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const only = values.only?.split(",").map((id) => id.trim()).filter(Boolean);
  const unknown = only?.filter((id) => !FAULTS.some((f) => f.id === id)) ?? [];
  if (unknown.length > 0) {
    console.error(`chaos: Cannot run fault "${unknown[0]}": no such fault (1..${FAULTS.length})`);
    return 2;
  }
  // A phase that timed out may still be running in the background; its errors are not ours.
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    console.error(`chaos: ignored a late error: ${event.reason}`);
  });
  const scale = scaleOf(values.quick);
  const faults = FAULTS.filter((f) => only === undefined || only.includes(f.id));
  const started = performance.now();
  const date = new Date().toISOString();
  const loadAtStart = Deno.loadavg();
  const runs: FaultRun[] = [];
  for (const fault of faults) {
    console.error(`chaos: ${fault.id}. ${fault.title} ...`);
    const run = await runFault(fault, scale);
    runs.push(run);
    console.error(
      `chaos: ${fault.id}. ${verdictOf(run)} in ${run.seconds.toFixed(1)} s` +
        (run.error === undefined ? "" : ` (the phase failed: ${run.error})`),
    );
  }
  const out = values.out.startsWith("/") ? values.out : `${Deno.cwd()}/${values.out}`;
  const command = ["deno task chaos", ...args].join(" ");
  const report = renderReliability({
    command,
    date,
    machine: await machine(loadAtStart),
    mode: values.quick ? "quick" : "full",
    seconds: (performance.now() - started) / 1000,
  }, runs);
  await Deno.writeTextFile(out, report);
  // Long sentences are wrapped by the project's own formatter, so the file stays fmt-clean.
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", `--config=${root}deno.json`, out],
    cwd: root,
  }).output();
  const missed = runs.filter((r) => verdictOf(r) === "MISS").map((r) => r.id);
  console.error(
    `chaos: wrote ${out}: ${runs.length - missed.length} of ${runs.length} passed` +
      (missed.length === 0 ? "" : `; missed: ${missed.join(", ")}`),
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
