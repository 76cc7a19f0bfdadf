/**
 * The bearer tokens that may read `GET /metrics`, kept only as SHA-256 digests: a presented
 * token is hashed and compared with every digest in constant time, so neither its length nor
 * how much of it matches shows in the time an answer takes.
 *
 * Needs no permissions.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";

function digest(token: string): Uint8Array {
  return createHash("sha256").update(token).digest();
}

/**
 * The metrics tokens in force.
 *
 * @example
 * ```ts
 * import { MetricsTokens } from "./metrics_tokens.ts";
 * import assert from "node:assert/strict";
 * const tokens = new MetricsTokens(["rfm_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]);
 * assert.equal(tokens.accepts("rfm_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), true);
 * assert.equal(tokens.accepts("rfm_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"), false);
 * assert.equal(new MetricsTokens([]).accepts(""), false);
 * ```
 */
export class MetricsTokens {
  readonly #digests: readonly Uint8Array[];

  /** @param tokens The tokens, as the keys file lists them (never kept). */
  constructor(tokens: readonly string[]) {
    this.#digests = tokens.map(digest);
  }

  /** How many tokens there are. */
  get size(): number {
    return this.#digests.length;
  }

  /**
   * Whether `presented` is one of the tokens. Every digest is compared, whichever matches.
   *
   * @param presented The token a request carries.
   */
  accepts(presented: string): boolean {
    const seen = digest(presented);
    let match = false;
    for (const known of this.#digests) match = timingSafeEqual(seen, known) || match;
    return match;
  }
}
