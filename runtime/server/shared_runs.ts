/**
 * Single flight for identical reads: which queued or running run each identical read-only job
 * (same op, same input) may share, and which finished run may still answer one. The scheduler
 * owns one; this module only keeps the books and does no I/O.
 *
 * - A run still queued is as fresh as a run of one's own: any identical read may join it.
 * - A running run started before the request: only a request that allows that age joins it
 *   (`Cache-Control: max-age=<s>`), and likewise a run that succeeded that recently answers from
 *   the journal. A run's age counts from its start, the earliest its reading can date from.
 * - Each job keeps its own record and delivery id; the jobs a run serves follow its leader's
 *   transitions.
 *
 * @module
 */
import type { Job } from "./journal.ts";

/** How a trigger may share an identical read's run. */
export type Sharing =
  /** Its own run, always (`Cache-Control: no-cache`). Later reads may still share that run. */
  | "own"
  /** A run still queued: as fresh as its own (the default). */
  | "queued"
  /** A queued run, or one that started at most `maxAgeMs` ago, running or finished. */
  | { readonly maxAgeMs: number };

/** A run and the jobs it serves besides its own. */
export interface Flight {
  readonly key: string;
  /** The job that runs it, as last recorded (queued or running). */
  leader: Job;
  readonly followers: Job[];
}

/** Where a job that shares is served from. */
export type Share =
  /** Joins this run (queued or running). */
  | { readonly kind: "join"; readonly flight: Flight }
  /** Answered by this finished job's run. */
  | { readonly kind: "answer"; readonly jobId: string };

/** Options of {@linkcode SharedRuns}. */
export interface SharedRunsOptions {
  /**
   * The most jobs one run serves besides its leader's.
   * @default {64}
   */
  readonly maxFollowers?: number;
  /**
   * The most finished runs remembered for `max-age` answers (the oldest go first).
   * @default {1024}
   */
  readonly maxAnswers?: number;
}

/**
 * The identity of a read: its op and its input as validated (zod's output has the schema's key
 * order, so equal inputs give equal text).
 *
 * @param job A job.
 * @returns The key identical reads share.
 * @example
 * ```ts
 * import { shareKey } from "./shared_runs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(shareKey({ op: "smart", input: { device: "/dev/sda" } }),
 *   shareKey({ op: "smart", input: { device: "/dev/sda" } }));
 * ```
 */
export function shareKey(job: Pick<Job, "op" | "input">): string {
  return `${job.op}\n${JSON.stringify(job.input)}`;
}

/** The books of shared runs. */
export class SharedRuns {
  readonly #maxFollowers: number;
  readonly #maxAnswers: number;
  /** Every run that serves others or may, by its leader's id. */
  readonly #byLeader = new Map<string, Flight>();
  /** The run new identical reads join, by key: the newest. */
  readonly #joinable = new Map<string, Flight>();
  /** The run that succeeded and started last, by key. */
  readonly #answers = new Map<string, { readonly jobId: string; readonly startedAt: number }>();

  /** @param options Bounds. */
  constructor(options: SharedRunsOptions = {}) {
    const { maxFollowers = 64, maxAnswers = 1024 } = options;
    this.#maxFollowers = maxFollowers;
    this.#maxAnswers = maxAnswers;
  }

  /**
   * Where an identical read may be served from now, if anywhere.
   *
   * @param key The read's {@linkcode shareKey}.
   * @param sharing What the request allows.
   * @param now The time, in ms since the epoch.
   */
  find(key: string, sharing: Sharing, now: number): Share | undefined {
    if (sharing === "own") return undefined;
    const maxAgeMs = typeof sharing === "object" ? sharing.maxAgeMs : undefined;
    const flight = this.#joinable.get(key);
    if (flight !== undefined && flight.followers.length < this.#maxFollowers) {
      const { status, startedAt } = flight.leader;
      const fresh = status === "queued" ||
        (maxAgeMs !== undefined && startedAt !== null && now - startedAt <= maxAgeMs);
      if (fresh) return { kind: "join", flight };
    }
    const answer = this.#answers.get(key);
    if (maxAgeMs !== undefined && answer !== undefined && now - answer.startedAt <= maxAgeMs) {
      return { kind: "answer", jobId: answer.jobId };
    }
    return undefined;
  }

  /** Opens the run of a new job that others may share (the newest for its key). */
  lead(key: string, leader: Job): void {
    const flight: Flight = { key, leader, followers: [] };
    this.#byLeader.set(leader.id, flight);
    this.#joinable.set(key, flight);
  }

  /** Records a job that a run serves. */
  follow(flight: Flight, follower: Job): void {
    flight.followers.push(follower);
  }

  /**
   * The leader started: returns the jobs it serves, now running too.
   *
   * @param leader The leader, as recorded running.
   */
  started(leader: Job): Job[] {
    const flight = this.#byLeader.get(leader.id);
    if (flight === undefined) return [];
    flight.leader = leader;
    for (const [i, follower] of flight.followers.entries()) {
      if (follower.status === "queued") {
        flight.followers[i] = { ...follower, status: "running", startedAt: leader.startedAt };
      }
    }
    return flight.followers;
  }

  /**
   * The leader finished: returns the jobs it served, finished alike, and remembers a run that
   * succeeded for `max-age` answers.
   *
   * @param leader The leader, as recorded finished.
   */
  finished(leader: Job): Job[] {
    const flight = this.#byLeader.get(leader.id);
    if (flight === undefined) return [];
    this.#byLeader.delete(leader.id);
    if (this.#joinable.get(flight.key) === flight) this.#joinable.delete(flight.key);
    const kept = this.#answers.get(flight.key);
    // Overlapping runs of one key (reads with no resource) may end out of order: the answer is
    // the reading that started last, the freshest, not the one that happened to end last.
    const { status, startedAt } = leader;
    if (status === "succeeded" && startedAt !== null && !(kept && kept.startedAt > startedAt)) {
      this.#answers.delete(flight.key);
      this.#answers.set(flight.key, { jobId: leader.id, startedAt });
      if (this.#answers.size > this.#maxAnswers) {
        this.#answers.delete(this.#answers.keys().next().value!);
      }
    }
    return flight.followers.map((follower) => ({
      ...follower,
      status: leader.status,
      finishedAt: leader.finishedAt,
      result: leader.result,
    }));
  }

  /** The run a job leads, if it serves or may serve others. */
  flightOf(leaderId: string): Flight | undefined {
    return this.#byLeader.get(leaderId);
  }
}
