/**
 * The keyring in force, behind one reference that a reload swaps: each request reads it once,
 * when its signature is verified, so a request in flight, an open event stream and a running job
 * never notice a reload, and the next request sees the new keys. Reloads run one at a time, in
 * the order they were asked for, and one that fails leaves the keys in force as they were.
 *
 * Needs no permissions (the loader it is given needs its own).
 *
 * @module
 */
import type { Keyring } from "./keys.ts";

/**
 * Holds the keyring in force.
 *
 * @example
 * ```ts
 * import { KeyringHolder } from "./keyring_holder.ts";
 * import assert from "node:assert/strict";
 * const holder = new KeyringHolder({ keys: [], files: [] });
 * const next = { keys: [{ id: "a", ops: ["*"], secrets: [] }], files: [] };
 * assert.equal(await holder.reload(() => Promise.resolve(next)), next);
 * assert.equal(holder.current, next);
 * await assert.rejects(holder.reload(() => Promise.reject(new Error("bad file"))));
 * assert.equal(holder.current, next);
 * ```
 */
export class KeyringHolder {
  #current: Keyring;
  #reloading: Promise<unknown> = Promise.resolve();

  /**
   * @param keyring The keyring loaded at start.
   */
  constructor(keyring: Keyring) {
    this.#current = keyring;
  }

  /** The keyring in force: read it per request, never keep it. */
  get current(): Keyring {
    return this.#current;
  }

  /**
   * Loads a new keyring and puts it in force, after any reload still running. Nothing changes
   * unless `load` resolves: it must check the whole file before it returns.
   *
   * @param load Loads and checks the keys file.
   * @returns The keyring now in force.
   * @throws Whatever `load` throws; the keyring in force is then unchanged.
   */
  reload(load: () => Promise<Keyring>): Promise<Keyring> {
    const next = this.#reloading.then(async () => {
      this.#current = await load();
      return this.#current;
    });
    this.#reloading = next.catch(() => undefined);
    return next;
  }
}
