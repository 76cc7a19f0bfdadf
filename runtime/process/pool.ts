/**
 * Pre-started fenced children, per op: each is already running under its op's exact flags (the
 * same builder), modules loaded and its request path run once (a warm-up line every child
 * refuses), waiting on stdin. No request ever waits for a child to start when one is ready or
 * coming back:
 *
 * - `warm` children per op are started up front and kept however long they idle.
 * - A read-only op's pool grows, up to `size`, only when a request finds every child busy (the
 *   request takes whichever child is free first: one coming back from a call, usually, or the
 *   new one); children beyond `warm` end after `idleMs` unused.
 * - A read-only op's child that has served `maxUses` invocations retires: its successor is
 *   started at once, and the retiring child keeps serving until the successor is ready.
 * - A mutating op's child serves once; its successor is started as it is taken.
 * - A ready child that dies is replaced at once; a child that dies while starting is not (its
 *   error goes to a request waiting for it), so a child that cannot start is never respawned in
 *   a loop.
 *
 * @module
 */
import type { AnyOp } from "../../ops/types.ts";
import { POOL_DEFAULTS } from "../defaults.ts";
import { RootfenceError } from "../errors.ts";
import type { FencedChild } from "./fenced_child.ts";

/** Pool limits. */
export interface PoolOptions {
  /**
   * The most children one read-only op has at once, ready or out on a call (a retiring child
   * and its successor briefly count once); 0 turns pooling off. The executor passes the
   * running limit (`--max-running`): more could never be busy at once.
   * @default {4}
   */
  readonly size?: number;
  /**
   * Children per op started by {@linkcode ChildPool.prestart} and kept ready however long they
   * idle (at most `size`).
   * @default {1}
   */
  readonly warm?: number;
  /**
   * Invocations one child of a read-only op serves before it retires.
   * @default {100}
   */
  readonly maxUses?: number;
  /**
   * A ready child beyond `warm` that has not been used for this long is ended.
   * @default {300000}
   */
  readonly idleMs?: number;
  /**
   * How long a new child may take to load and answer its warm-up before it is killed.
   * @default {30000}
   */
  readonly startMs?: number;
}

/** What a pool has done since it was made: for the log, the benchmark and tests. */
export interface PoolCounts {
  /** Children started. */
  started: number;
  /** Children that served `maxUses` and were ended once their successor was ready. */
  retired: number;
  /** Ready children beyond `warm` ended after `idleMs` unused. */
  expired: number;
  /** Requests that found no ready child and were served by one coming back from a call. */
  waitedForBusy: number;
  /**
   * Requests that found no ready child and were served by one that was still starting: a
   * child start on the request path. Only a pool growing under a burst, or a start after a
   * child died or the op's first use with `warm: 0`, can cause one.
   */
  waitedForStart: number;
}

type State = "starting" | "ready" | "busy";

interface Entry {
  readonly child: FencedChild;
  state: State;
  /** Served `maxUses`: ended as soon as `successor` is ready. */
  retiring: boolean;
  successor?: Entry | undefined;
  /** Its successor is about to be started. */
  succeeding?: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

interface Waiter {
  resolve(child: FencedChild): void;
  reject(error: unknown): void;
}

interface Slot {
  readonly op: AnyOp;
  readonly entries: Entry[];
  readonly waiters: Waiter[];
}

function closedError(op: AnyOp): RootfenceError {
  return new RootfenceError("interrupted", `Cannot run "${op.name}": the receiver is stopping`);
}

/** The pool. The launcher owns one when pooling is on. */
export class ChildPool {
  readonly #start: (op: AnyOp) => FencedChild;
  readonly #size: number;
  readonly #warm: number;
  readonly #maxUses: number;
  readonly #idleMs: number;
  readonly #startMs: number;
  readonly #slots = new Map<string, Slot>();
  readonly #counts: PoolCounts = {
    started: 0,
    retired: 0,
    expired: 0,
    waitedForBusy: 0,
    waitedForStart: 0,
  };
  #closed = false;

  /**
   * @param start Starts a new child for an op (the launcher's own `start`).
   * @param options Limits.
   * @throws {RangeError} For a size below 1, or limits that are not positive.
   */
  constructor(start: (op: AnyOp) => FencedChild, options: PoolOptions = {}) {
    const {
      size = POOL_DEFAULTS.size,
      maxUses = POOL_DEFAULTS.maxUses,
      idleMs = POOL_DEFAULTS.idleMs,
      startMs = POOL_DEFAULTS.startMs,
    } = options;
    const { warm = Math.min(POOL_DEFAULTS.warm, size) } = options;
    if (!(size >= 1 && warm >= 0 && warm <= size && maxUses >= 1 && idleMs > 0 && startMs > 0)) {
      throw new RangeError(
        "Cannot pool: need size >= 1, 0 <= warm <= size, maxUses >= 1, idleMs > 0, startMs > 0",
      );
    }
    this.#start = start;
    this.#size = size;
    this.#warm = warm;
    this.#maxUses = maxUses;
    this.#idleMs = idleMs;
    this.#startMs = startMs;
  }

  /** What the pool has done so far (a live view). */
  get counts(): Readonly<PoolCounts> {
    return this.#counts;
  }

  /** How many children of `op` are not out on a call: ready, or still starting. */
  idle(op: AnyOp): number {
    return this.#slot(op).entries.filter((e) => e.state !== "busy").length;
  }

  /** How many children of `op` there are in each state (for the receiver's metrics). */
  children(
    op: AnyOp,
  ): { readonly starting: number; readonly ready: number; readonly busy: number } {
    const counts = { starting: 0, ready: 0, busy: 0 };
    for (const entry of this.#slot(op).entries) counts[entry.state]++;
    return counts;
  }

  /** How many children of `op` are ready to take a request now. */
  ready(op: AnyOp): number {
    return this.#slot(op).entries.filter((e) => e.state === "ready").length;
  }

  /**
   * A ready child for `op`, at once when one is ready; otherwise the first child that comes back
   * from a call or finishes starting (the pool grows, up to its size, while requests wait).
   *
   * @param op The op.
   * @param signal Aborting it gives up the wait.
   * @returns The child, now out on this call: give it back with {@linkcode release}.
   * @throws {RootfenceError} `binary_not_found` or `denied` when no child can be started,
   * `child_failed` (or `denied`) when the child meant for this call died while starting,
   * `interrupted` when the pool closes or `signal` aborts first.
   */
  acquire(op: AnyOp, signal?: AbortSignal): Promise<FencedChild> {
    if (this.#closed) return Promise.reject(closedError(op));
    const slot = this.#slot(op);
    // The newest ready child first: under a light load the older ones stay unused, and those
    // beyond `warm` expire.
    const ready = slot.entries.findLast((e) => e.state === "ready" && !e.retiring) ??
      slot.entries.find((e) => e.state === "ready");
    if (ready !== undefined) return Promise.resolve(this.#take(op, slot, ready));
    return new Promise<FencedChild>((resolve, reject) => {
      const onAbort = () => {
        const at = slot.waiters.indexOf(waiter);
        if (at >= 0) slot.waiters.splice(at, 1);
        reject(new RootfenceError("interrupted", `Cannot run "${op.name}": interrupted`));
      };
      const waiter: Waiter = {
        resolve(child) {
          signal?.removeEventListener("abort", onAbort);
          resolve(child);
        },
        reject(error) {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      slot.waiters.push(waiter);
      this.#later(() => this.#tryGrow(op, slot));
    });
  }

  /** Gives a child back after a call: it serves again, retires, or is ended. */
  release(child: FencedChild): void {
    const op = child.op;
    const slot = this.#slot(op);
    const entry = slot.entries.find((e) => e.child === child);
    // A mutating op's child left the pool when it was taken: it never serves twice.
    if (entry === undefined) return void child.close();
    if (this.#closed || !child.available) {
      this.#remove(slot, entry);
      void child.close();
      this.#later(() => {
        this.#fill(op);
        this.#tryGrow(op, slot);
      });
      return;
    }
    if (!entry.retiring && child.uses >= this.#maxUses) entry.retiring = true;
    if (entry.successor !== undefined && !slot.entries.includes(entry.successor)) {
      // Its successor died (ready, or out on a call): the child started in its place succeeds
      // it, or a new one is started below; it serves on meanwhile.
      entry.successor = this.#unclaimedStart(slot);
    }
    if (entry.retiring && entry.successor === undefined && !entry.succeeding) {
      // It serves on until its successor, started once this answer is out, is ready.
      entry.succeeding = true;
      this.#later(() => this.#succeed(op, slot, entry));
    }
    if (entry.retiring && entry.successor !== undefined && entry.successor.state !== "starting") {
      this.#retire(slot, entry);
      this.#later(() => this.#tryGrow(op, slot));
      return;
    }
    this.#offer(op, slot, entry, false);
  }

  /** Starts children until `op` has `warm` of them (ready, starting or out on a call). */
  prestart(op: AnyOp): void {
    this.#fill(op);
  }

  /** Ends every child that is not out on a call; those end when they come back. */
  async close(): Promise<void> {
    this.#closed = true;
    const ended: FencedChild[] = [];
    for (const slot of this.#slots.values()) {
      this.#rejectWaiters(slot, closedError(slot.op));
      for (const entry of [...slot.entries]) {
        if (entry.state === "busy") continue;
        this.#remove(slot, entry);
        ended.push(entry.child);
      }
    }
    await Promise.all(ended.map((child) => child.close()));
    await Promise.all(ended.map((child) => child.exited));
  }

  #slot(op: AnyOp): Slot {
    let slot = this.#slots.get(op.name);
    if (slot === undefined) {
      slot = { op, entries: [], waiters: [] };
      this.#slots.set(op.name, slot);
    }
    return slot;
  }

  /** Children that count against `size`: all but the retiring ones. */
  #live(slot: Slot): number {
    return slot.entries.filter((e) => !e.retiring).length;
  }

  #take(op: AnyOp, slot: Slot, entry: Entry): FencedChild {
    clearTimeout(entry.timer);
    entry.state = "busy";
    if (op.mutates) {
      this.#remove(slot, entry);
      // Its successor starts loading while this one runs.
      this.#later(() => this.#fill(op));
    }
    return entry.child;
  }

  /**
   * Runs `start` once the current turn is done: spawning blocks the event loop for a few
   * milliseconds (a fork of this process), which should not land inside an answer.
   */
  #later(start: () => void): void {
    setTimeout(() => {
      if (!this.#closed) start();
    }, 0);
  }

  /** Starts the successor of a retiring child; without one, the child just retires. */
  #succeed(op: AnyOp, slot: Slot, entry: Entry): void {
    entry.succeeding = false;
    if (!slot.entries.includes(entry)) return;
    // A child started in a dead successor's place meanwhile (the refill) succeeds it instead.
    entry.successor = this.#unclaimedStart(slot) ?? this.#tryStart(op, slot);
    if (entry.successor === undefined && entry.state === "ready") this.#retire(slot, entry);
  }

  /** A starting child that no retiring child waits for (a dead successor's replacement). */
  #unclaimedStart(slot: Slot): Entry | undefined {
    return slot.entries.find((e) =>
      e.state === "starting" && !e.retiring && !slot.entries.some((o) => o.successor === e)
    );
  }

  #retire(slot: Slot, entry: Entry): void {
    this.#remove(slot, entry);
    void entry.child.close();
    this.#counts.retired++;
  }

  /** Hands a child that is free now to the first waiting request, or keeps it ready. */
  #offer(op: AnyOp, slot: Slot, entry: Entry, started: boolean): void {
    const waiter = slot.waiters.shift();
    if (waiter !== undefined) {
      if (started) this.#counts.waitedForStart++;
      else this.#counts.waitedForBusy++;
      waiter.resolve(this.#take(op, slot, entry));
      return;
    }
    entry.state = "ready";
    clearTimeout(entry.timer);
    if (!entry.retiring && this.#live(slot) > this.#warm) {
      entry.timer = setTimeout(() => this.#expire(slot, entry), this.#idleMs);
    }
  }

  #expire(slot: Slot, entry: Entry): void {
    if (entry.state !== "ready" || this.#live(slot) <= this.#warm) return;
    this.#remove(slot, entry);
    void entry.child.close();
    this.#counts.expired++;
  }

  /**
   * Starts a child per waiting request that no starting child will serve, up to `size` (a
   * mutating op's children out on a call left the pool, so they do not count).
   */
  #grow(op: AnyOp, slot: Slot): void {
    const starting = () => slot.entries.filter((e) => e.state === "starting").length;
    while (slot.waiters.length > starting() && this.#live(slot) < this.#size) {
      this.#startEntry(op, slot);
    }
  }

  /** {@linkcode #grow} where a failure to start has nobody to tell but the waiting requests. */
  #tryGrow(op: AnyOp, slot: Slot): void {
    try {
      this.#grow(op, slot);
    } catch (error) {
      this.#rejectWaiters(slot, error);
    }
  }

  #fill(op: AnyOp): void {
    const slot = this.#slot(op);
    try {
      while (!this.#closed && this.#live(slot) < this.#warm) this.#startEntry(op, slot);
    } catch {
      // A binary gone since start: the next request for the op gets the reason.
    }
  }

  #tryStart(op: AnyOp, slot: Slot): Entry | undefined {
    try {
      return this.#startEntry(op, slot);
    } catch {
      return undefined;
    }
  }

  #startEntry(op: AnyOp, slot: Slot): Entry {
    const child = this.#start(op);
    this.#counts.started++;
    const entry: Entry = { child, state: "starting", retiring: false };
    slot.entries.push(entry);
    child.warmUp(this.#startMs).then(
      () => this.#started(op, slot, entry),
      (error) => this.#failed(slot, entry, error),
    );
    // A ready child that dies (crash, OOM, kill) is replaced at once.
    void child.exited.then(() => {
      if (entry.state !== "ready" || !slot.entries.includes(entry)) return;
      this.#remove(slot, entry);
      if (!this.#closed) this.#fill(op);
    });
    return entry;
  }

  #started(op: AnyOp, slot: Slot, entry: Entry): void {
    if (!slot.entries.includes(entry)) return;
    // What it succeeds ends now, unless that one is out on a call (it ends when it is back).
    for (const old of [...slot.entries]) {
      if (old.successor === entry && old.state === "ready") this.#retire(slot, old);
    }
    this.#offer(op, slot, entry, true);
  }

  #failed(slot: Slot, entry: Entry, error: unknown): void {
    if (!slot.entries.includes(entry)) return;
    this.#remove(slot, entry);
    void entry.child.kill();
    // A retiring child whose successor failed ends when it comes back; the next use starts one.
    for (const old of slot.entries) if (old.successor === entry) old.successor = undefined;
    // When no other child is starting or out on a call, none will come to serve the waiting
    // requests: they get the reason instead of a wait (and nothing is respawned in a loop).
    if (!slot.entries.some((e) => e.state !== "ready")) this.#rejectWaiters(slot, error);
  }

  #rejectWaiters(slot: Slot, error: unknown): void {
    for (const waiter of slot.waiters.splice(0)) waiter.reject(error);
  }

  #remove(slot: Slot, entry: Entry): void {
    clearTimeout(entry.timer);
    const at = slot.entries.indexOf(entry);
    if (at >= 0) slot.entries.splice(at, 1);
  }
}
