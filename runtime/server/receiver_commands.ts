/**
 * The pure builders of the receiver's two command lines. The receiver is split the way
 * Proxmox splits pveproxy from pvedaemon and OpenSSH its privilege-separated child:
 *
 * - the **listener** parses HTTP: network for its listen address (a port or a Unix socket) and
 *   its executor's Unix socket, read for its TLS certificate and key if it has them, nothing else
 *   (no run, no other file, no env); it runs the sealed `dist/listener.js`, as an unprivileged
 *   user wherever the install allows;
 * - the **executor** owns the keys, the journal and the child pool: no IP network (only its own
 *   Unix socket), read and write only its state, and the only run grant: Deno (or sudo) and
 *   `kill`.
 *
 * @module
 */
import type { ResolvedBinaries } from "../process/fence.ts";
import { loadingFlags, NO_DENO_DIR, SEALED_FLAGS } from "../process/child_command.ts";
import type { ServerConfig } from "./config.ts";
import { encodeExecutorArgs } from "./executor_args.ts";
import { encodeListenerArgs } from "./listener_args.ts";

/** A ready-to-spawn command line. */
export interface ReceiverCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly denoFlags: readonly string[];
}

/** What the executor's builder needs; all paths absolute and canonical. */
export interface ExecutorCommandOptions {
  readonly config: ServerConfig;
  readonly denoPath: string;
  /** The project's `deno.json` and `deno.lock`. */
  readonly configPath: string;
  readonly lockPath: string;
  /** `runtime/server/executor.ts`. */
  readonly entryPath: string;
  readonly killPath: string;
  readonly binaries: ResolvedBinaries;
  /**
   * The Deno cache the executor loads hono and zod from; the starter refuses one that anyone
   * but root or the running user could write (`cache_trust.ts`).
   */
  readonly denoDir: string;
  /** Files outside the state dir the executor reads: the keys file and secret files. */
  readonly readFiles: readonly string[];
  /** The group allowed to connect to the socket (the listener's), when it is another user. */
  readonly socketGroup?: number;
  /**
   * What is wrong with each write base, by path, as checked by the starter (the executor cannot
   * read them); passed on only for bases with problems.
   */
  readonly baseProblems?: Readonly<Record<string, readonly string[]>>;
  /** End when stdin ends: the starter holds it open (systemd does not). */
  readonly stopWithStdin?: boolean;
}

/** What the listener's builder needs. */
export interface ListenerCommandOptions {
  readonly config: ServerConfig;
  readonly denoPath: string;
  /** `dist/listener.js`. */
  readonly entryPath: string;
  /**
   * The descriptor of a listening socket the listener inherits (systemd socket activation),
   * instead of the config's address or Unix socket: it then needs no grant to listen at all.
   */
  readonly listenFd?: number;
  /** End when stdin ends: the starter holds it open (systemd does not). */
  readonly stopWithStdin?: boolean;
}

/** The executor's one run-time module, beside its entry. */
export const CHECKPOINT_WORKER = "journal_checkpoint_worker.ts";

/** A TCP address as Deno's grants and systemd's `ListenStream=` write it: `[::1]:8787`. */
export function netAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Builds the executor's command line. Everything it needs arrives as arguments, so it reads no
 * environment and resolves nothing on disk.
 *
 * @example
 * ```ts
 * import { buildExecutorCommand } from "./receiver_commands.ts";
 * import { serverDefaults } from "./config.ts";
 * import assert from "node:assert/strict";
 * const command = buildExecutorCommand({
 *   config: serverDefaults("/var/lib/rootfence"),
 *   denoPath: "/usr/bin/deno", configPath: "/opt/rf/deno.json", lockPath: "/opt/rf/deno.lock",
 *   entryPath: "/opt/rf/runtime/server/executor.ts", killPath: "/usr/bin/kill", binaries: {},
 *   denoDir: "/var/cache/deno", readFiles: [],
 * });
 * assert.ok(command.denoFlags.includes("--allow-net=unix:/var/lib/rootfence/executor.sock"));
 * ```
 */
export function buildExecutorCommand(options: ExecutorCommandOptions): ReceiverCommand {
  const { config } = options;
  const inside = (path: string) => path.startsWith(`${config.stateDir}/`);
  const socket = inside(config.socket) ? [] : [config.socket];
  // A worker's module loads at run time, under the read grant: the journal's checkpoint thread.
  const worker = `${
    options.entryPath.slice(0, options.entryPath.lastIndexOf("/"))
  }/${CHECKPOINT_WORKER}`;
  const reads = [
    config.stateDir,
    ...socket,
    worker,
    ...options.readFiles.filter((f) => !inside(f)),
  ];
  const runs = config.runner === "sudo"
    ? [config.sudoPath, options.killPath]
    : [options.denoPath, options.killPath];
  const denoFlags = [
    ...loadingFlags(options.configPath, options.lockPath),
    // A bounded heap: the live set is small (queue-bound), but V8 grows lazily under load.
    "--v8-flags=--max-old-space-size=128,--max-semi-space-size=4",
    // A Unix socket needs a net grant in Deno; this one names a path, no address.
    `--allow-net=unix:${config.socket}`,
    `--allow-read=${[...new Set(reads)].join(",")}`,
    `--allow-write=${[config.stateDir, ...socket].join(",")}`,
    `--allow-run=${runs.join(",")}`,
    // Only to learn its own uid: the keys, secret and journal files must be owned by it.
    "--allow-sys=uid,osUptime",
  ];
  const args = [
    ...denoFlags,
    options.entryPath,
    ...encodeExecutorArgs({
      socket: config.socket,
      socketGroup: options.socketGroup,
      stateDir: config.stateDir,
      keysFile: config.keysFile,
      binPath: config.binPath,
      settings: config.settings,
      runner: config.runner,
      sudoPath: config.sudoPath,
      maxRunning: config.maxRunning,
      maxQueued: config.maxQueued,
      graceMs: config.graceMs,
      poolSize: config.poolSize,
      poolUses: config.poolUses,
      poolIdleMs: config.poolIdleMs,
      metricsSmartMaxAgeMs: config.metricsMaxAgeMs.smart,
      metricsSensorsMaxAgeMs: config.metricsMaxAgeMs.sensors,
      retentionMs: config.retentionMs,
      retentionJobs: config.retentionJobs,
      denoPath: options.denoPath,
      killPath: options.killPath,
      bin: options.binaries,
      baseProblems: options.baseProblems ?? {},
      stopWithStdin: options.stopWithStdin ?? false,
    }),
  ];
  const env = { DENO_DIR: options.denoDir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  return { command: options.denoPath, args, env, denoFlags };
}

/**
 * Builds the listener's command line: the sealed bundle, where it listens, its executor's socket
 * and its TLS files, and no other grant of any kind. A Unix socket it creates, or a TLS key it
 * reads, adds `--allow-sys=uid`: it removes only its own stale socket and trusts only a key file
 * of its own.
 *
 * @example
 * ```ts
 * import { buildListenerCommand } from "./receiver_commands.ts";
 * import { serverDefaults } from "./config.ts";
 * import assert from "node:assert/strict";
 * const command = buildListenerCommand({
 *   config: serverDefaults("/var/lib/rootfence"),
 *   denoPath: "/usr/bin/deno", entryPath: "/opt/rf/dist/listener.js",
 * });
 * assert.ok(!command.denoFlags.some((f) => f.startsWith("--allow-run")));
 * ```
 */
export function buildListenerCommand(options: ListenerCommandOptions): ReceiverCommand {
  const { config, listenFd } = options;
  const listenPath = listenFd === undefined ? config.listenPath : undefined;
  const tcp = listenFd === undefined && listenPath === undefined;
  const tls = config.cert !== undefined && config.key !== undefined
    ? [config.cert, config.key]
    : [];
  const sockets = [config.socket, ...(listenPath === undefined ? [] : [listenPath])];
  const net = [
    ...(tcp ? [netAddress(config.host, config.port)] : []),
    ...(listenPath === undefined ? [] : [`unix:${listenPath}`]),
    `unix:${config.socket}`,
  ];
  const denoFlags = [
    ...SEALED_FLAGS,
    "--v8-flags=--max-old-space-size=64,--max-semi-space-size=4",
    `--allow-net=${net.join(",")}`,
    `--allow-read=${[...sockets, ...tls].join(",")}`,
    `--allow-write=${sockets.join(",")}`,
    ...(listenPath !== undefined || tls.length > 0 ? ["--allow-sys=uid"] : []),
  ];
  const args = [
    ...denoFlags,
    options.entryPath,
    ...encodeListenerArgs({
      ...(tcp ? { host: config.host, port: config.port } : {}),
      ...(listenPath === undefined ? {} : { listenPath }),
      ...(listenFd === undefined ? {} : { listenFd }),
      ...(config.cert === undefined ? {} : { cert: config.cert }),
      ...(config.key === undefined ? {} : { key: config.key }),
      socket: config.socket,
      maxConnections: config.maxConnections,
      headerTimeoutMs: config.headerTimeoutMs,
      bodyTimeoutMs: config.bodyTimeoutMs,
      stopWithStdin: options.stopWithStdin ?? false,
    }),
  ];
  const env = { DENO_DIR: NO_DENO_DIR, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  return { command: options.denoPath, args, env, denoFlags };
}
