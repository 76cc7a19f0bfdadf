/**
 * The pure builder of the receiver's own command line: it is fenced too. Network only for its
 * listen address, read and write only for its state dir (and read for its keys), run only for
 * Deno (or sudo) and `kill`, and no env, sys or ffi at all.
 *
 * @module
 */
import type { ResolvedBinaries } from "../fence.ts";
import { loadingFlags } from "../flags.ts";
import type { ServerConfig } from "./config.ts";

/** Everything the builder needs; all paths absolute and canonical. */
export interface ReceiverCommandOptions {
  readonly config: ServerConfig;
  readonly denoPath: string;
  /** The project's `deno.json` and `deno.lock`. */
  readonly configPath: string;
  readonly lockPath: string;
  /** `runtime/server/main.ts`. */
  readonly entryPath: string;
  readonly killPath: string;
  readonly binaries: ResolvedBinaries;
  readonly denoDir: string;
  /** Files outside the state dir the receiver reads: the keys file and secret files. */
  readonly readFiles: readonly string[];
}

/** A ready-to-spawn command line. */
export interface ReceiverCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly denoFlags: readonly string[];
}

function netAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Builds the receiver's command line. Everything it needs arrives as arguments, so it reads no
 * environment and resolves nothing on disk.
 *
 * @example
 * ```ts
 * import { buildReceiverCommand } from "./receiver_flags.ts";
 * import assert from "node:assert/strict";
 * const command = buildReceiverCommand({
 *   config: {
 *     host: "127.0.0.1", port: 8787, stateDir: "/var/lib/rootfence",
 *     keysFile: "/var/lib/rootfence/keys.json", binPath: "/usr/sbin:/usr/bin",
 *     mountBase: "/mnt/usb", runner: "direct", sudoPath: "/usr/bin/sudo",
 *     maxRunning: 4, maxQueued: 64, graceMs: 30000, poolSize: 1, poolUses: 100,
 *     poolIdleMs: 300000,
 *   },
 *   denoPath: "/usr/bin/deno", configPath: "/opt/rf/deno.json", lockPath: "/opt/rf/deno.lock",
 *   entryPath: "/opt/rf/runtime/server/main.ts", killPath: "/usr/bin/kill", binaries: {},
 *   denoDir: "/var/cache/deno", readFiles: [],
 * });
 * assert.ok(command.denoFlags.includes("--allow-net=127.0.0.1:8787"));
 * ```
 */
export function buildReceiverCommand(options: ReceiverCommandOptions): ReceiverCommand {
  const { config } = options;
  const inside = (path: string) => path.startsWith(`${config.stateDir}/`);
  const reads = [config.stateDir, ...options.readFiles.filter((f) => !inside(f))];
  const runs = config.runner === "sudo"
    ? [config.sudoPath, options.killPath]
    : [options.denoPath, options.killPath];
  const denoFlags = [
    ...loadingFlags(options.configPath, options.lockPath),
    // A bounded heap: the live set is small (queue-bound), but V8 grows lazily under load.
    "--v8-flags=--max-old-space-size=128,--max-semi-space-size=4",
    `--allow-net=${netAddress(config.host, config.port)}`,
    `--allow-read=${[...new Set(reads)].join(",")}`,
    `--allow-write=${config.stateDir}`,
    `--allow-run=${runs.join(",")}`,
  ];
  const binArgs = Object.entries(options.binaries).map(([name, path]) => `--bin=${name}=${path}`);
  const args = [
    ...denoFlags,
    options.entryPath,
    `--host=${config.host}`,
    `--port=${config.port}`,
    `--state-dir=${config.stateDir}`,
    `--keys-file=${config.keysFile}`,
    `--bin-path=${config.binPath}`,
    `--mount-base=${config.mountBase}`,
    `--runner=${config.runner}`,
    `--sudo-path=${config.sudoPath}`,
    `--max-running=${config.maxRunning}`,
    `--max-queued=${config.maxQueued}`,
    `--grace-ms=${config.graceMs}`,
    `--pool-size=${config.poolSize}`,
    `--pool-uses=${config.poolUses}`,
    `--pool-idle-ms=${config.poolIdleMs}`,
    `--deno-path=${options.denoPath}`,
    `--deno-dir=${options.denoDir}`,
    `--kill-path=${options.killPath}`,
    ...binArgs,
  ];
  const env = { DENO_DIR: options.denoDir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  return { command: options.denoPath, args, env, denoFlags };
}
