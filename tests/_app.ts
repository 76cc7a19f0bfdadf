/**
 * Fakes for in-process app tests: a real journal in a temp dir, real keys, and a scheduler whose
 * runner is a recording fake (no process is started).
 *
 * @module
 */
import type { Invocation } from "../runtime/process/launcher.ts";
import type { Progress } from "../runtime/process/protocol.ts";
import { signedRequest } from "../runtime/cli/client.ts";
import { createApp } from "../runtime/server/app.ts";
import { type Job, Journal } from "../runtime/server/journal.ts";
import { KeyringHolder } from "../runtime/server/keyring_holder.ts";
import { sharesRuns, syncsRows } from "../runtime/server/run_policy.ts";
import type { LoadedKey } from "../runtime/server/keys.ts";
import { Scheduler } from "../runtime/server/scheduler.ts";
import { compileScopes } from "../runtime/scopes/compile.ts";
import { verifyingSecret } from "../runtime/signing.ts";

const SETTINGS = { mountBase: "/mnt/usb" };

export const AUTOMATION = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
export const MONITORING = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/** A key for `smart` of `/dev/sda` only (a scope on its input). */
export const SCOPED = "whsec_45vYl1a2mW2jo3Zk4BErDoLd2+HnDsEKSLDS9mlGvoU=";

/** A test bench: the app plus everything behind it. */
export interface Bench {
  readonly app: ReturnType<typeof createApp>;
  readonly journal: Journal;
  readonly scheduler: Scheduler;
  readonly runs: Job[];
  readonly logs: Record<string, unknown>[];
  /** Lets a held run finish (see `hold`). */
  release(): void;
  close(): Promise<void>;
}

export interface BenchOptions {
  /** Runs wait for `release()` before finishing. */
  readonly hold?: boolean;
  readonly maxRunning?: number;
  readonly maxQueued?: number;
  readonly dir?: string;
  readonly result?: (job: Job) => Invocation;
  /** Runs before a run's result, with what takes the run's progress lines. */
  readonly progress?: (job: Job, send: (progress: Progress) => void) => Promise<void>;
}

async function loaded(id: string, secret: string, ops: string[]): Promise<LoadedKey> {
  return { id, ops, secrets: [await verifyingSecret(secret)] };
}

/** Builds a bench. */
export async function bench(options: BenchOptions = {}): Promise<Bench> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "rootfence-app-" });
  // As the executor: only a mutating op's rows are synced, and a waited-for read is held.
  const journal = Journal.open(`${dir}/journal.db`, { synced: syncsRows, holdMs: 60_000 });
  const keyring = new KeyringHolder({
    keys: [
      await loaded("automation", AUTOMATION, ["*"]),
      await loaded("monitoring", MONITORING, ["smart", "sensors"]),
      {
        ...await loaded("scoped", SCOPED, ["smart"]),
        scopes: compileScopes({ ops: ["smart"], scopes: { smart: [{ device: "/dev/sda" }] } }, {
          settings: SETTINGS,
        }),
      },
    ],
    files: [],
  });
  const runs: Job[] = [];
  const logs: Record<string, unknown>[] = [];
  const waiting: (() => void)[] = [];
  const log = (line: Record<string, unknown>) => logs.push(line);
  const scheduler = new Scheduler({
    journal,
    log,
    maxRunning: options.maxRunning ?? 4,
    maxQueued: options.maxQueued ?? 64,
    // As the executor: identical reads share a run, mutating ops never do.
    shares: sharesRuns,
    async run(job, signal, progress) {
      runs.push(job);
      await options.progress?.(job, progress);
      if (options.hold) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          signal.addEventListener("abort", () => resolve());
        });
      }
      if (signal.aborted) {
        return {
          op: job.op,
          ok: false,
          argv: [],
          error: { code: "interrupted", message: "killed" },
          durationMs: 1,
        };
      }
      return options.result?.(job) ??
        {
          op: job.op,
          ok: true,
          argv: ["/usr/bin/sensors", "-j"],
          result: { chips: [] },
          durationMs: 1,
        };
    },
  });
  scheduler.recover();
  const app = createApp({ scheduler, journal, keyring, settings: SETTINGS, log });
  return {
    app,
    journal,
    scheduler,
    runs,
    logs,
    release: () => waiting.splice(0).forEach((resolve) => resolve()),
    async close() {
      await scheduler.shutdown(0);
      journal.close();
      if (options.dir === undefined) await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Options of {@linkcode signedPost}. */
export interface PostOptions {
  readonly secret?: string;
  readonly id?: string;
  readonly timestamp?: number;
  readonly headers?: Record<string, string>;
}

/** A signed `POST /hooks/<op>` request. */
export function signedPost(op: string, body: string, options: PostOptions = {}): Promise<Request> {
  return signedRequest(`http://rootfence.test/hooks/${op}`, {
    secret: AUTOMATION,
    ...options,
    body,
  });
}

/** A signed read of `path` (with its query). */
export function signedGet(path: string, secret = AUTOMATION): Promise<Request> {
  return signedRequest(`http://rootfence.test${path}`, { secret });
}

/**
 * Makes the journal's `method` fail as a full disk does: its next call only (then the class's
 * method serves again), or every call.
 */
export function refuseWrites(
  journal: Journal,
  method: "markRunning" | "markFinished" | "markProcesses",
  times: "once" | "always",
): void {
  Object.assign(journal, {
    [method]() {
      if (times === "once") delete (journal as unknown as Record<string, unknown>)[method];
      throw new Error("database or disk is full");
    },
  });
}
