/**
 * The listener's arguments, the starter → listener boundary: where it listens (a TCP address, a
 * Unix socket path, or a descriptor systemd hands it), its TLS certificate and key if any, its
 * executor's socket, and its connection limits. `buildListenerCommand` (receiver_commands.ts) encodes them
 * with {@linkcode encodeListenerArgs}; the listener (`listener.ts`) decodes and validates them
 * with {@linkcode decodeListenerArgs}. Pure; part of the sealed listener, so it imports zod and
 * the flag codec only.
 *
 * @module
 */
import { z } from "zod";
import { decodeFlags, encodeFlags, wholeFlag } from "../process/flag_codec.ts";

/** An absolute path that fits a Unix socket address (108 bytes with its NUL) and a grant list. */
const SOCKET_PATH = /^\/[^\0,]{1,100}$/;
/** An absolute path that may stand in a grant list (a comma would widen it). */
const GRANTED_FILE = /^\/[^\0,]{1,4000}$/;

/** The listener's flags. */
export const ListenerFlags = z.object({
  /** The address it listens on (with `port`; not with `listenPath` or `listenFd`). */
  host: z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, "Not a host address").optional(),
  /** Its port; 0 picks a free one. */
  port: wholeFlag(0, 65535).optional(),
  /** A Unix socket it creates and listens on instead, mode 0660 (no TLS on it). */
  listenPath: z.string().regex(SOCKET_PATH, "Not an absolute socket path").optional(),
  /** A listening socket it inherited (systemd socket activation: 3), instead. */
  listenFd: wholeFlag(3, 1023).optional(),
  /** A PEM certificate (chain): it serves TLS (on TCP only). */
  cert: z.string().regex(GRANTED_FILE, "Not an absolute path").optional(),
  /** The PEM private key of `cert`. */
  key: z.string().regex(GRANTED_FILE, "Not an absolute path").optional(),
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
}).superRefine((flags, context) => {
  const partial = (flags.host === undefined) !== (flags.port === undefined);
  const targets = [flags.port, flags.listenPath, flags.listenFd].filter((t) => t !== undefined);
  if (partial || targets.length !== 1) {
    context.addIssue({
      code: "custom",
      path: ["host"],
      message: "Give --host and --port, or --listen-path, or --listen-fd",
    });
  }
  if ((flags.cert === undefined) !== (flags.key === undefined)) {
    context.addIssue({ code: "custom", path: ["key"], message: "Give --cert and --key together" });
  }
  if (flags.cert !== undefined && flags.listenPath !== undefined) {
    context.addIssue({ code: "custom", path: ["cert"], message: "TLS needs a TCP socket" });
  }
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
    "listenPath",
    "listenFd",
    "cert",
    "key",
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
