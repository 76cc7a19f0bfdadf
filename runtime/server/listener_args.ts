/**
 * The listener's arguments, the starter → listener boundary: where it listens, its executor's
 * socket, and its connection limits. `buildListenerCommand` (receiver_commands.ts) encodes them
 * with {@linkcode encodeListenerArgs}; the listener (`listener.ts`) decodes and validates them
 * with {@linkcode decodeListenerArgs}. Pure; part of the sealed listener, so it imports zod and
 * the flag codec only.
 *
 * @module
 */
import { z } from "zod";
import { decodeFlags, encodeFlags, wholeFlag } from "../process/flag_codec.ts";

/** The listener's flags. */
export const ListenerFlags = z.object({
  /** The address it listens on. */
  host: z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, "Not a host address"),
  /** Its port; 0 picks a free one. */
  port: wholeFlag(0, 65535),
  /** The executor's Unix socket. */
  socket: z.string().regex(/^\/[^\0]{1,200}$/, "Not an absolute socket path"),
  /** Open client connections; more are closed on arrival. */
  maxConnections: wholeFlag(1, 1_000_000),
  /** A client's time to send its headers. */
  headerTimeoutMs: wholeFlag(100, 600_000),
  /** A client's time to send its body once the headers are in. */
  bodyTimeoutMs: wholeFlag(100, 600_000),
  /** End when stdin ends: the starter holds it open (systemd does not). */
  stopWithStdin: z.boolean().default(false),
});

/** The listener's arguments, decoded. */
export type ListenerArgs = z.output<typeof ListenerFlags>;

/**
 * Encodes the listener's arguments, in their command-line order.
 *
 * @param args What the listener gets.
 * @returns The arguments after the listener's entry.
 * @example
 * ```ts
 * import { encodeListenerArgs } from "./listener_args.ts";
 * import assert from "node:assert/strict";
 * const argv = encodeListenerArgs({
 *   host: "127.0.0.1", port: 8787, socket: "/run/rootfence/executor.sock",
 *   maxConnections: 1024, headerTimeoutMs: 10000, bodyTimeoutMs: 10000, stopWithStdin: false,
 * });
 * assert.equal(argv[0], "--host=127.0.0.1");
 * ```
 */
export function encodeListenerArgs(args: ListenerArgs): string[] {
  return encodeFlags(args, [
    "host",
    "port",
    "socket",
    "maxConnections",
    "headerTimeoutMs",
    "bodyTimeoutMs",
    "stopWithStdin",
  ]);
}

/**
 * Decodes and validates the listener's arguments.
 *
 * @param argv The arguments after the listener's entry.
 * @returns The arguments.
 * @throws {TypeError} (`ERR_PARSE_ARGS_*`) for an unknown flag.
 * @throws {RangeError} For a missing or refused value.
 * @example
 * ```ts
 * import { decodeListenerArgs } from "./listener_args.ts";
 * import assert from "node:assert/strict";
 * const args = decodeListenerArgs([
 *   "--host=::1", "--port=0", "--socket=/run/rootfence/executor.sock",
 *   "--max-connections=8", "--header-timeout-ms=1000", "--body-timeout-ms=1000",
 * ]);
 * assert.equal(args.port, 0);
 * assert.equal(args.stopWithStdin, false);
 * ```
 */
export function decodeListenerArgs(argv: readonly string[]): ListenerArgs {
  return decodeFlags(ListenerFlags, argv, { kinds: { stopWithStdin: "boolean" } }).value;
}
