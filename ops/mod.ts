/**
 * The explicit registry of rootfence ops. Nothing is ever loaded from a name a request supplies:
 * a name is only looked up in this fixed list.
 *
 * @module
 */
import { createGoldenLxc } from "./create_golden_lxc/mod.ts";
import { mountUsb } from "./mount_usb/mod.ts";
import { sensors } from "./sensors/mod.ts";
import { smart } from "./smart/mod.ts";
import { type AnyOp, RUNTIME_ERROR_CODES } from "./types.ts";

/** Every op, in the order help output lists them. */
export const OPS: readonly AnyOp[] = [
  createGoldenLxc as AnyOp,
  mountUsb as AnyOp,
  smart as AnyOp,
  sensors as AnyOp,
];

/**
 * Every stable error code of some ops: the runtime's own, then each op's, in order.
 *
 * @param ops The ops, e.g. {@linkcode OPS}.
 * @returns The codes, each once.
 * @example
 * ```ts
 * import { errorCodes, findOp } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const codes = errorCodes([findOp("smart")!]);
 * assert.ok(codes.includes("timeout") && codes.includes("device_open_failed"));
 * assert.ok(!codes.includes("ct_exists"));
 * ```
 */
export function errorCodes(ops: readonly AnyOp[]): readonly string[] {
  return [...new Set([...RUNTIME_ERROR_CODES, ...ops.flatMap((op) => op.errors ?? [])])];
}

/** Stable error codes that callers may handle: the runtime's and every registered op's. */
export const ERROR_CODES: readonly string[] = errorCodes(OPS);

/**
 * Looks an op up by name.
 *
 * @param name The op's name, e.g. `"smart"`.
 * @returns The op, or `undefined` for a name that is not in the registry.
 * @example
 * ```ts
 * import { findOp } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(findOp("smart")?.permissions.run[0], "smartctl");
 * assert.equal(findOp("__proto__"), undefined);
 * ```
 */
export function findOp(name: string): AnyOp | undefined {
  return OPS.find((op) => op.name === name);
}
