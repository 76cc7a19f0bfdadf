/**
 * Pre-started fenced children, per op: each is already running under its op's exact flags (the
 * same builder), modules loaded, waiting on stdin. Read-only ops reuse a child for several
 * invocations, then recycle it; mutating ops always get a fresh, single-use child.
 *
 * @module
 */
import type { AnyOp } from "../ops/types.ts";
import type { FencedChild } from "./fenced_child.ts";

/** Pool limits. */
export interface PoolOptions {
  /**
   * Idle children kept ready per op (0 turns pre-starting off).
   * @default {1}
   */
  readonly size?: number;
  /**
   * Invocations one child of a read-only op serves before it is recycled.
   * @default {100}
   */
  readonly maxUses?: number;
  /**
   * An idle child older than this is ended (and not replaced until the op is used again).
   * @default {300000}
   */
  readonly idleMs?: number;
}

interface Idle {
  readonly child: FencedChild;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** The pool. The launcher owns one when pooling is on. */
export class ChildPool {
  readonly #start: (op: AnyOp) => FencedChild;
  readonly #size: number;
  readonly #maxUses: number;
  readonly #idleMs: number;
  readonly #idle = new Map<string, Idle[]>();
  /** Read-only ops' children that are out on an invocation and will come back. */
  readonly #out = new Map<string, number>();
  #closed = false;

  /**
   * @param start Starts a new child for an op (the launcher's own `start`).
   * @param options Limits.
   */
  constructor(start: (op: AnyOp) => FencedChild, options: PoolOptions = {}) {
    const { size = 1, maxUses = 100, idleMs = 300_000 } = options;
    if (!(size >= 0 && maxUses >= 1 && idleMs > 0)) {
      throw new RangeError("Cannot pool: need size >= 0, maxUses >= 1 and idleMs > 0");
    }
    this.#start = start;
    this.#size = size;
    this.#maxUses = maxUses;
    this.#idleMs = idleMs;
  }

  /** How many idle children an op has ready. */
  idle(op: AnyOp): number {
    return this.#list(op).length;
  }

  /**
   * Takes a ready child for `op`, or starts one. A mutating op's child never comes back, so
   * the pool starts its successor now; a read-only op's child returns on release.
   */
  acquire(op: AnyOp): FencedChild {
    const list = this.#list(op);
    let taken: FencedChild | undefined;
    while (taken === undefined && list.length > 0) {
      const { child, timer } = list.shift()!;
      clearTimeout(timer);
      if (child.available) taken = child;
      else void child.kill();
    }
    const child = taken ?? this.#start(op);
    if (op.mutates) this.refill(op);
    else this.#out.set(op.name, (this.#out.get(op.name) ?? 0) + 1);
    return child;
  }

  /** Gives a child back after an invocation: kept for reuse, or ended. */
  release(child: FencedChild): void {
    const op = child.op;
    if (!op.mutates) this.#out.set(op.name, (this.#out.get(op.name) ?? 1) - 1);
    const reusable = !op.mutates && child.available && child.uses < this.#maxUses &&
      !this.#closed && this.#list(op).length < this.#size;
    if (reusable) this.#keep(child);
    else void child.close();
    this.refill(op);
  }

  /** Starts children until `op` has `size` ready (counting read-only children out on a call). */
  refill(op: AnyOp): void {
    if (this.#closed) return;
    const out = op.mutates ? 0 : this.#out.get(op.name) ?? 0;
    while (this.#list(op).length + out < this.#size) this.#keep(this.#start(op));
  }

  /** Ends every idle child; later releases end theirs too. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#idle.values()].flat();
    this.#idle.clear();
    for (const { timer } of all) clearTimeout(timer);
    await Promise.all(all.map(({ child }) => child.close()));
    await Promise.all(all.map(({ child }) => child.exited));
  }

  #list(op: AnyOp): Idle[] {
    let list = this.#idle.get(op.name);
    if (list === undefined) {
      list = [];
      this.#idle.set(op.name, list);
    }
    return list;
  }

  #keep(child: FencedChild): void {
    const list = this.#list(child.op);
    const timer = setTimeout(() => this.#drop(child, false), this.#idleMs);
    list.push({ child, timer });
    // A ready child that dies (crash, OOM, kill) is replaced at once.
    void child.exited.then(() => this.#drop(child, true));
  }

  #drop(child: FencedChild, replace: boolean): void {
    const list = this.#list(child.op);
    const at = list.findIndex((entry) => entry.child === child);
    if (at < 0) return;
    clearTimeout(list[at]!.timer);
    list.splice(at, 1);
    void child.close();
    if (replace) this.refill(child.op);
  }
}
