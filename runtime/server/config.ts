/**
 * The receiver's settings from flags, each with a `ROOTFENCE_*` environment equivalent. Pure:
 * the caller passes the environment and the working directory.
 *
 * @module
 */
import { resolve } from "node:path";
import { OPS } from "../../ops/mod.ts";
import type { OpSettings } from "../../ops/types.ts";
import { parseArgs } from "../args.ts";
import {
  DEFAULT_BIN_PATH,
  DEFAULT_RUNNER,
  DEFAULT_SUDO_PATH,
  METRICS_DEFAULTS,
  POOL_DEFAULTS,
  RECEIVER_DEFAULTS,
  RETENTION_DEFAULTS,
  SCHEDULER_DEFAULTS,
} from "../defaults.ts";
import { normalisedPath } from "../process/fence.ts";
import type { RunnerMode } from "../process/child_command.ts";
import { settingFlags, settingsFromFlags, settingsOptions } from "../settings.ts";

/** Resolved receiver settings; every path absolute. */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** A Unix socket the listener listens on instead of `host:port` (`--listen unix:<path>`). */
  readonly listenPath?: string;
  /** The listener's PEM certificate (chain), with `key`: it serves HTTPS. */
  readonly cert?: string;
  /** The PEM private key of `cert`. */
  readonly key?: string;
  readonly stateDir: string;
  /** The executor's Unix socket, which the listener connects to. */
  readonly socket: string;
  /** Who the listener runs as when the starter is root; `root` keeps it as root. */
  readonly listenerUser: string;
  readonly keysFile: string;
  readonly binPath: string;
  /** Every op's host settings (`--mount-base` and the like), validated by the ops. */
  readonly settings: OpSettings;
  readonly runner: RunnerMode;
  readonly sudoPath: string;
  readonly maxRunning: number;
  readonly maxQueued: number;
  readonly graceMs: number;
  readonly poolSize: number;
  readonly poolUses: number;
  readonly poolIdleMs: number;
  /** Finished jobs are kept this long, in milliseconds. */
  readonly retentionMs: number;
  /** At most this many finished jobs are kept. */
  readonly retentionJobs: number;
  /** Open client connections; more are closed on arrival. */
  readonly maxConnections: number;
  /** A client's time to send its headers (also how long an idle keep-alive stays open). */
  readonly headerTimeoutMs: number;
  /** A client's time to send its body once the headers are in. */
  readonly bodyTimeoutMs: number;
  /** How old `GET /metrics`' host reads may be before a scrape runs them again, in ms. */
  readonly metricsMaxAgeMs: { readonly smart: number; readonly sensors: number };
}

const DAY_MS = 86_400_000;

/**
 * Each flag: its environment variable, default (from `defaults.ts`, in the flag's unit) and help.
 * The ops' settings come on top.
 */
export const SERVER_FLAGS = {
  host: ["ROOTFENCE_HOST", RECEIVER_DEFAULTS.host, "address to listen on"],
  port: ["ROOTFENCE_PORT", `${RECEIVER_DEFAULTS.port}`, "port to listen on (0 picks a free one)"],
  listen: ["ROOTFENCE_LISTEN", "<host>:<port>", "unix:<path>: a Unix socket instead"],
  cert: ["ROOTFENCE_CERT", "none", "PEM certificate (chain): serve HTTPS"],
  key: ["ROOTFENCE_KEY", "none", "PEM private key of --cert (0600, the listener's)"],
  "state-dir": ["ROOTFENCE_STATE_DIR", RECEIVER_DEFAULTS.stateDir, "journal and default keys file"],
  "keys-file": ["ROOTFENCE_KEYS_FILE", "<state dir>/keys.json", "who may trigger which ops"],
  socket: ["ROOTFENCE_SOCKET", "<state dir>/executor.sock", "the executor's Unix socket"],
  "listener-user": [
    "ROOTFENCE_LISTENER_USER",
    RECEIVER_DEFAULTS.listenerUser,
    "user the listener runs as (root: as root)",
  ],
  "bin-path": ["ROOTFENCE_BIN_PATH", DEFAULT_BIN_PATH, "where fenced binaries are found"],
  runner: ["ROOTFENCE_RUNNER", DEFAULT_RUNNER, "direct (run as root) or sudo (service user)"],
  "sudo-path": ["ROOTFENCE_SUDO_PATH", DEFAULT_SUDO_PATH, "sudo, for --runner sudo"],
  "max-running": [
    "ROOTFENCE_MAX_RUNNING",
    `${SCHEDULER_DEFAULTS.maxRunning}`,
    "ops running at once",
  ],
  "max-queued": [
    "ROOTFENCE_MAX_QUEUED",
    `${SCHEDULER_DEFAULTS.maxQueued}`,
    "jobs waiting before 429",
  ],
  grace: [
    "ROOTFENCE_GRACE",
    `${RECEIVER_DEFAULTS.graceMs / 1000}`,
    "seconds running jobs get on shutdown",
  ],
  "pool-size": [
    "ROOTFENCE_POOL_SIZE",
    "<max running>",
    "children per read-only op at most (0: none pre-started)",
  ],
  "pool-uses": [
    "ROOTFENCE_POOL_USES",
    `${POOL_DEFAULTS.maxUses}`,
    "invocations a read-only op's child serves",
  ],
  "pool-idle": [
    "ROOTFENCE_POOL_IDLE",
    `${POOL_DEFAULTS.idleMs / 1000}`,
    "seconds before an idle child beyond the first is ended",
  ],
  "retention-days": [
    "ROOTFENCE_RETENTION_DAYS",
    `${RETENTION_DEFAULTS.maxAgeMs / DAY_MS}`,
    "days finished jobs are kept",
  ],
  "retention-jobs": [
    "ROOTFENCE_RETENTION_JOBS",
    `${RETENTION_DEFAULTS.maxJobs}`,
    "finished jobs kept at most",
  ],
  "max-connections": [
    "ROOTFENCE_MAX_CONNECTIONS",
    `${RECEIVER_DEFAULTS.maxConnections}`,
    "open client connections (keep under half the descriptor limit)",
  ],
  "header-timeout": [
    "ROOTFENCE_HEADER_TIMEOUT",
    `${RECEIVER_DEFAULTS.headerTimeoutMs / 1000}`,
    "seconds a client has to send headers",
  ],
  "body-timeout": [
    "ROOTFENCE_BODY_TIMEOUT",
    `${RECEIVER_DEFAULTS.bodyTimeoutMs / 1000}`,
    "seconds a client has to send its body",
  ],
  "metrics-max-age": [
    "ROOTFENCE_METRICS_MAX_AGE",
    `smart=${METRICS_DEFAULTS.smartMaxAgeMs / 1000},sensors=${
      METRICS_DEFAULTS.sensorsMaxAgeMs / 1000
    }`,
    "seconds a scrape's host reads may be old: <s> for both, or smart=<s>,sensors=<s>",
  ],
} satisfies Readonly<Record<string, readonly [string, string, string]>>;

/** A receiver flag's name, without `--`. */
export type ServerFlag = keyof typeof SERVER_FLAGS;

/** The flag as given, else its `ROOTFENCE_*` variable; anything but text counts as absent. */
function givenOrEnv(
  flag: ServerFlag,
  given: unknown,
  env: (name: string) => string | undefined,
): string | undefined {
  return typeof given === "string" ? given : env(SERVER_FLAGS[flag][0]);
}

/**
 * A receiver flag's text: as given, else its `ROOTFENCE_*` environment variable, else its
 * default. The one reader of those variables, for every entry that takes one of these flags
 * (`deno task op` takes `--bin-path`).
 *
 * @param flag The flag.
 * @param given Its parsed value; anything but text counts as absent.
 * @param env Reads one environment variable.
 * @returns The text.
 * @example
 * ```ts
 * import { serverFlag } from "./config.ts";
 * import assert from "node:assert/strict";
 * const env = (name: string) => name === "ROOTFENCE_BIN_PATH" ? "/opt/bin" : undefined;
 * assert.equal(serverFlag("bin-path", undefined, env), "/opt/bin");
 * assert.equal(serverFlag("bin-path", "/usr/bin", env), "/usr/bin");
 * assert.equal(serverFlag("port", undefined, env), "8787");
 * ```
 */
export function serverFlag(
  flag: ServerFlag,
  given: unknown,
  env: (name: string) => string | undefined,
): string {
  return givenOrEnv(flag, given, env) ?? SERVER_FLAGS[flag][1];
}

/** The `--help` text: the receiver's flags, with the ops' settings after `--bin-path`. */
export function serverHelp(): string {
  type Row = readonly [string, readonly [string, string, string]];
  const flags: Row[] = Object.entries(SERVER_FLAGS);
  const settings = settingFlags(OPS).map((f): Row => [f.flag, [f.env, f.fallback, f.help]]);
  flags.splice(flags.findIndex(([flag]) => flag === "bin-path") + 1, 0, ...settings);
  const lines = flags.map(([flag, [env, fallback, help]]) =>
    `  --${flag.padEnd(15)} ${help} (${env}; default ${fallback})`
  );
  return `Usage: deno task start [options]\n\nStarts the rootfence webhook receiver.\n\n${
    lines.join("\n")
  }\n  --help            this text`;
}

/** A path that becomes part of a grant list: a comma in it would widen the grant. */
function grantable(name: string, path: string): string {
  if (!normalisedPath(path)) {
    throw new RangeError(`Cannot use --${name} "${path}": commas and NUL are not allowed`);
  }
  return path;
}

function count(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max) {
    throw new RangeError(`Cannot use --${name} "${text}": give a whole number in ${min}..${max}`);
  }
  return value;
}

/**
 * `--metrics-max-age`: seconds for both reads, or `smart=<s>` and `sensors=<s>` (either, or both,
 * separated by a comma); a read not named keeps its default.
 */
function metricsMaxAge(text: string): ServerConfig["metricsMaxAgeMs"] {
  const whole = (s: string) => count("metrics-max-age", s, 0, 86_400) * 1000;
  if (/^[0-9]+$/.test(text)) return { smart: whole(text), sensors: whole(text) };
  const ages: { smart: number; sensors: number } = {
    smart: METRICS_DEFAULTS.smartMaxAgeMs,
    sensors: METRICS_DEFAULTS.sensorsMaxAgeMs,
  };
  for (const part of text.split(",")) {
    const match = /^(smart|sensors)=([0-9]{1,9})$/.exec(part.trim());
    if (match === null) {
      throw new RangeError(
        `Cannot use --metrics-max-age "${text}": give seconds, or smart=<s>,sensors=<s>`,
      );
    }
    ages[match[1] as "smart" | "sensors"] = whole(match[2]!);
  }
  return ages;
}

/**
 * Reads the receiver's settings.
 *
 * @param args Command-line arguments.
 * @param env Reads one environment variable.
 * @param cwd The working directory relative paths are resolved against.
 * @returns The settings, or `"help"` when `--help` was asked for.
 * @throws {RangeError} For a bad value; {TypeError} (`ERR_PARSE_ARGS_*`) for an unknown flag.
 */
export function parseServerConfig(
  args: readonly string[],
  env: (name: string) => string | undefined,
  cwd: string,
): ServerConfig | "help" {
  const options = Object.fromEntries(
    Object.keys(SERVER_FLAGS).map((flag) => [flag, { type: "string" as const }]),
  );
  const { values } = parseArgs({
    args: [...args],
    options: { ...options, ...settingsOptions(OPS), help: { type: "boolean" } },
    strict: true,
  });
  return values.help ? "help" : configFrom(values, env, cwd);
}

/** The settings from parsed flags (by name, without `--`), the environment and defaults. */
function configFrom(
  values: Readonly<Record<string, unknown>>,
  env: (name: string) => string | undefined,
  cwd: string,
): ServerConfig {
  const get = (flag: ServerFlag): string => serverFlag(flag, values[flag], env);
  const runner = get("runner");
  if (runner !== "direct" && runner !== "sudo") {
    throw new RangeError(`Cannot use --runner "${runner}": use direct or sudo`);
  }
  const host = get("host");
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(host)) throw new RangeError(`Cannot listen on "${host}"`);
  const stateDir = grantable("state-dir", resolve(cwd, get("state-dir")));
  const keysFlag = givenOrEnv("keys-file", values["keys-file"], env);
  const socketFlag = givenOrEnv("socket", values.socket, env);
  const listenerUser = get("listener-user");
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(listenerUser)) {
    throw new RangeError(`Cannot use --listener-user "${listenerUser}": not a user name`);
  }
  const maxRunning = count("max-running", get("max-running"), 1, 256);
  const poolFlag = givenOrEnv("pool-size", values["pool-size"], env);
  const listenPath = listenPathOf(values, env, cwd);
  const cert = givenOrEnv("cert", values.cert, env);
  const key = givenOrEnv("key", values.key, env);
  if ((cert === undefined) !== (key === undefined)) {
    throw new RangeError("Cannot use TLS: give --cert and --key together");
  }
  if (cert !== undefined && listenPath !== undefined) {
    throw new RangeError(
      "Cannot use --cert with --listen unix:: TLS needs a TCP port (the proxy in front of a " +
        "Unix socket terminates TLS itself)",
    );
  }
  return {
    host,
    port: count("port", get("port"), 0, 65535),
    ...(listenPath === undefined ? {} : { listenPath }),
    ...(cert === undefined ? {} : { cert: grantable("cert", resolve(cwd, cert)) }),
    ...(key === undefined ? {} : { key: grantable("key", resolve(cwd, key)) }),
    stateDir,
    socket: grantable(
      "socket",
      socketFlag === undefined ? `${stateDir}/executor.sock` : resolve(cwd, socketFlag),
    ),
    listenerUser,
    keysFile: grantable(
      "keys-file",
      keysFlag === undefined ? `${stateDir}/keys.json` : resolve(cwd, keysFlag),
    ),
    binPath: get("bin-path"),
    settings: settingsFromFlags(OPS, values, { env }),
    runner,
    sudoPath: get("sudo-path"),
    maxRunning,
    maxQueued: count("max-queued", get("max-queued"), 0, 100_000),
    graceMs: count("grace", get("grace"), 0, 3600) * 1000,
    // As many children as may run at once, unless told otherwise.
    poolSize: poolFlag === undefined
      ? Math.min(maxRunning, 64)
      : count("pool-size", poolFlag, 0, 64),
    poolUses: count("pool-uses", get("pool-uses"), 1, 1_000_000),
    poolIdleMs: count("pool-idle", get("pool-idle"), 1, 86_400) * 1000,
    retentionMs: count("retention-days", get("retention-days"), 1, 36_500) * DAY_MS,
    retentionJobs: count("retention-jobs", get("retention-jobs"), 1, 100_000_000),
    maxConnections: count("max-connections", get("max-connections"), 1, 1_000_000),
    headerTimeoutMs: count("header-timeout", get("header-timeout"), 1, 600) * 1000,
    bodyTimeoutMs: count("body-timeout", get("body-timeout"), 1, 600) * 1000,
    metricsMaxAgeMs: metricsMaxAge(get("metrics-max-age")),
  };
}

/**
 * The Unix socket of `--listen unix:<path>`, absolute, or `undefined` for `--host`/`--port`.
 * The two are exclusive: a `--host` or `--port` given with it would silently mean nothing.
 */
function listenPathOf(
  values: Readonly<Record<string, unknown>>,
  env: (name: string) => string | undefined,
  cwd: string,
): string | undefined {
  const listen = givenOrEnv("listen", values.listen, env);
  if (listen === undefined) return undefined;
  const match = /^unix:(.+)$/.exec(listen);
  if (match === null) {
    throw new RangeError(`Cannot use --listen "${listen}": give unix:<path>, or --host and --port`);
  }
  for (const flag of ["host", "port"] as const) {
    if (givenOrEnv(flag, values[flag], env) !== undefined) {
      throw new RangeError(
        `Cannot use --listen with --${flag}: the listener listens on one of them`,
      );
    }
  }
  const path = grantable("listen", resolve(cwd, match[1]!));
  // sun_path holds 108 bytes with its NUL.
  if (new TextEncoder().encode(path).length > 100) {
    throw new RangeError(`Cannot use --listen "${listen}": a socket path is 100 bytes at most`);
  }
  return path;
}

/**
 * Every default, for a given state dir: what generators (audit, systemd) start from.
 *
 * @example
 * ```ts
 * import { serverDefaults } from "./config.ts";
 * import assert from "node:assert/strict";
 * assert.equal(serverDefaults("/var/lib/rootfence").keysFile, "/var/lib/rootfence/keys.json");
 * ```
 */
export function serverDefaults(stateDir: string): ServerConfig {
  return configFrom({ "state-dir": stateDir }, () => undefined, "/");
}
