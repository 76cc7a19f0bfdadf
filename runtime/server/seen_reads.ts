/**
 * Read signatures already used, so that a captured read is good for one request, never a flood
 * of streams.
 *
 * @module
 */
import { TOLERANCE_SECONDS } from "./signature.ts";

/**
 * Remembers each read signature until it could no longer verify anyway (the timestamp tolerance
 * on both sides). Bounded: past the cap the oldest is forgotten first.
 *
 * @example
 * ```ts
 * import { SeenReads } from "./seen_reads.ts";
 * import assert from "node:assert/strict";
 * const seen = new SeenReads();
 * assert.equal(seen.use("automation", "msg_1", Date.now()), true);
 * assert.equal(seen.use("automation", "msg_1", Date.now()), false);
 * ```
 */
export class SeenReads {
  readonly #until = new Map<string, number>();
  readonly #cap: number;

  /**
   * @param cap How many uses are remembered at most.
   */
  constructor(cap = 100_000) {
    this.#cap = cap;
  }

  /**
   * Records a use.
   *
   * @param keyId The key that signed.
   * @param deliveryId The signed `webhook-id`.
   * @param nowMs The current time, in ms since the epoch.
   * @returns False when this key already used this id (a replay).
   */
  use(keyId: string, deliveryId: string, nowMs: number): boolean {
    const id = `${keyId}\n${deliveryId}`;
    const until = this.#until.get(id);
    if (until !== undefined && until > nowMs) return false;
    if (this.#until.size >= this.#cap) {
      for (const [seen, expiry] of this.#until) {
        if (expiry <= nowMs || this.#until.size >= this.#cap) this.#until.delete(seen);
        else break;
      }
    }
    this.#until.set(id, nowMs + 2 * TOLERANCE_SECONDS * 1000);
    return true;
  }
}
