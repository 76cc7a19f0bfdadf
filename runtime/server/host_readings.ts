/**
 * The host reads behind `GET /metrics`: `smart` of every disk and `sensors`, each run as a job
 * through the same scheduler, fenced pool and journal as a signed trigger (no grant and no kind
 * of process of its own), under the reserved key id {@linkcode METRICS_KEY_ID}, which no key
 * can have, so no key reads or lists these jobs. A read runs only when its last attempt started
 * longer than its maximum age ago, so scrapes never run `smartctl` more often than that; it may
 * also take an identical trigger's run that started within that age. Concurrent scrapes share
 * one attempt, and a scrape waits for it only so long: after that it answers with the last good
 * reading, whose age is a series of its own. A failed read is counted, never thrown.
 *
 * Needs no permissions (the scheduler's runner has its own).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { findOp } from "../../ops/mod.ts";
import type { OpSettings } from "../../ops/types.ts";
import { isSmartDisks, type SmartDisks } from "../../ops/smart/disks.ts";
import type { SensorsReport } from "../../ops/sensors/parse_sensors.ts";
import { METRICS_DEFAULTS } from "../defaults.ts";
import type { Invocation } from "../process/launcher.ts";
import type { HostRead, HostReads } from "./host_metrics.ts";
import { FINAL_STATUSES, isStorageError, type Job, type Journal } from "./journal.ts";
import type { Scheduler } from "./scheduler.ts";

/** The key id of metrics' host reads: outside `KEY_ID`, so no key of a keys file has it. */
export const METRICS_KEY_ID = "@metrics";

/** The two host reads. */
export type HostOp = keyof HostReads;

/** Options of {@linkcode HostReadings}. */
export interface HostReadingsOptions {
  readonly scheduler: Scheduler;
  readonly journal: Journal;
  /** The ops' settings, to validate each read's input as a trigger's is. */
  readonly settings: OpSettings;
  /** How old each read may be before a scrape runs it again, in ms. */
  readonly maxAgeMs: Readonly<Record<HostOp, number>>;
  /**
   * How long a scrape waits for a read it started or joined, in ms.
   * @default {METRICS_DEFAULTS.waitMs}
   */
  readonly waitMs?: number;
  /** @default {Date.now} */
  now?(): number;
}

interface State<T> {
  attempt?: { readonly ok: boolean; readonly code?: string };
  good?: { readonly at: number; readonly value: T };
  readonly failures: Record<string, number>;
  /** When the last attempt started, in ms. */
  startedAt?: number;
  running?: Promise<void> | undefined;
}

/** What a host read's job gives back: the op's value, or an error code. */
type Outcome<T> = { readonly ok: true; readonly at: number; readonly value: T } | {
  readonly ok: false;
  readonly code: string;
};

/** Whether a job's result is the op's: all disks for `smart`, a report for `sensors`. */
function valueOf(op: HostOp, result: unknown): SmartDisks | SensorsReport | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  if (op === "smart") {
    return "disks" in result && isSmartDisks(result as SmartDisks)
      ? result as SmartDisks
      : undefined;
  }
  return Array.isArray((result as Partial<SensorsReport>).chips)
    ? result as SensorsReport
    : undefined;
}

/** The host reads of one executor. */
export class HostReadings {
  readonly #scheduler: Scheduler;
  readonly #journal: Journal;
  readonly #settings: OpSettings;
  readonly #maxAgeMs: Readonly<Record<HostOp, number>>;
  readonly #waitMs: number;
  readonly #now: () => number;
  readonly #states: { smart: State<SmartDisks>; sensors: State<SensorsReport> } = {
    smart: { failures: {} },
    sensors: { failures: {} },
  };

  /** @param options The scheduler and journal, the settings and the maximum ages. */
  constructor(options: HostReadingsOptions) {
    const { waitMs = METRICS_DEFAULTS.waitMs, now = Date.now } = options;
    this.#scheduler = options.scheduler;
    this.#journal = options.journal;
    this.#settings = options.settings;
    this.#maxAgeMs = options.maxAgeMs;
    this.#waitMs = waitMs;
    this.#now = now;
  }

  /**
   * Both reads for one scrape: each one older than its maximum age is run again (or joins the
   * attempt already running), and waited for at most `waitMs`.
   *
   * @returns The reads as they stand then.
   */
  async read(): Promise<HostReads> {
    const running = (["smart", "sensors"] as const).map((op) => this.#fresh(op));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, this.#waitMs));
    await Promise.race([Promise.all(running), late]);
    clearTimeout(timer);
    return { smart: this.#view(this.#states.smart), sensors: this.#view(this.#states.sensors) };
  }

  #view<T>(state: State<T>): HostRead<T> {
    return {
      ...(state.attempt === undefined ? {} : { attempt: state.attempt }),
      ...(state.good === undefined ? {} : { good: state.good }),
      failures: { ...state.failures },
    };
  }

  /** The attempt a scrape waits for: the one running, a new one, or none (fresh enough). */
  #fresh(op: HostOp): Promise<void> {
    const state: State<unknown> = this.#states[op];
    if (state.running !== undefined) return state.running;
    const now = this.#now();
    if (state.startedAt !== undefined && now - state.startedAt <= this.#maxAgeMs[op]) {
      return Promise.resolve();
    }
    state.startedAt = now;
    state.running = this.#attempt(op).then((outcome) => {
      state.running = undefined;
      if (outcome.ok) {
        state.attempt = { ok: true };
        state.good = { at: outcome.at, value: outcome.value };
        // A trigger's earlier run may have answered: the reading's age, not the attempt's, counts.
        state.startedAt = Math.min(state.startedAt ?? outcome.at, outcome.at);
      } else {
        state.attempt = { ok: false, code: outcome.code };
        state.failures[outcome.code] = (state.failures[outcome.code] ?? 0) + 1;
      }
    });
    return state.running;
  }

  /** Runs one read as a job and waits for it to end. */
  async #attempt(op: HostOp): Promise<Outcome<SmartDisks | SensorsReport>> {
    const definition = findOp(op)!;
    let job: Job;
    try {
      // Every disk, or the sensors: the input a trigger with an empty body would have.
      const input = definition.schema(this.#settings).parse({});
      const submitted = this.#scheduler.submit({
        keyId: METRICS_KEY_ID,
        deliveryId: crypto.randomUUID(),
        bodyHash: createHash("sha256").update(JSON.stringify(input)).digest("hex"),
        op,
        input,
        resourceKeys: definition.resourceKeys(input),
      }, { maxAgeMs: this.#maxAgeMs[op] });
      if (!("job" in submitted)) return { ok: false, code: submitted.kind };
      const done = await this.#scheduler.waitFor(submitted.job.id, definition.timeoutMs + 60_000);
      if (done === undefined || !FINAL_STATUSES.includes(done.status)) {
        return { ok: false, code: "interrupted" };
      }
      job = done;
    } catch (error) {
      // The journal cannot be written: the scheduler refused before anything ran.
      return { ok: false, code: isStorageError(error) ? "journal_unavailable" : "internal" };
    }
    const invocation = job.result as Invocation | null;
    if (job.status !== "succeeded" || invocation === null) {
      return { ok: false, code: invocation?.error?.code ?? job.status };
    }
    const value = valueOf(op, invocation.result);
    if (value === undefined) return { ok: false, code: "bad_result" };
    // A job answered by an earlier run started when that run did.
    const served = job.servedBy === null ? undefined : this.#journal.get(job.servedBy);
    return { ok: true, at: served?.startedAt ?? job.startedAt ?? job.createdAt, value };
  }
}
