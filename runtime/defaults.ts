/**
 * Every default the runtime's entries share, in one place: the starter's flags and `--help`, the
 * executor, the launcher and its pool, the scheduler, `deno task op`, the deployment generators
 * and the audit read them here, and none restates one. Pure data; needs no permissions.
 *
 * @module
 */

/** Where fenced binaries are looked for unless `--bin-path` says otherwise. */
export const DEFAULT_BIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/** How host commands gain root unless `--runner` says otherwise: the runtime is root already. */
export const DEFAULT_RUNNER = "direct";

/** sudo, for `--runner sudo`, unless `--sudo-path` says otherwise. */
export const DEFAULT_SUDO_PATH = "/usr/bin/sudo";

/** The `kill` binary a generator pins when this host has none of {@linkcode KILL_CANDIDATES}. */
export const DEFAULT_KILL_PATH = "/usr/bin/kill";

/** Where the `kill` binary that ends a child's process group is looked for, in order. */
export const KILL_CANDIDATES: readonly string[] = [DEFAULT_KILL_PATH, "/bin/kill"];

/** The executor's scheduler. */
export const SCHEDULER_DEFAULTS = Object.freeze({
  /** Ops running at once. */
  maxRunning: 4,
  /** Jobs waiting before a trigger is answered 429. */
  maxQueued: 64,
});

/** Pre-started children, per op (the launcher's pool, see `runtime/process/pool.ts`). */
export const POOL_DEFAULTS = Object.freeze({
  /**
   * The most children one read-only op has at once (0 turns pooling off): the running limit,
   * since no more can be busy at once. The receiver passes its `--max-running`.
   */
  size: SCHEDULER_DEFAULTS.maxRunning,
  /** Children per op started up front and kept ready however long they idle. */
  warm: 1,
  /**
   * Invocations one child of a read-only op serves before it retires. Starting a child costs
   * about 0.3 s of CPU (loading the sealed bundle with no code cache): every 100 uses that was
   * 3 ms per request, more than the whole request costs the peer; every 10,000 it is 0.03 ms.
   * The child's heap is capped (see `CHILD_HEAP_FLAGS`), so it no longer grows with its uses:
   * retiring is a safeguard, not how memory is kept down.
   */
  maxUses: 10_000,
  /** A ready child beyond `warm` unused this long is ended, in milliseconds. */
  idleMs: 300_000,
  /** How long a new child may take to load and answer its warm-up, in milliseconds. */
  startMs: 30_000,
});

/** What the journal keeps: a year of one trigger a minute fits, 400 days and 600,000 jobs. */
export const RETENTION_DEFAULTS = Object.freeze({
  /** Finished jobs older than this are pruned, in milliseconds. */
  maxAgeMs: 400 * 86_400_000,
  /** At most this many finished jobs are kept (the newest). */
  maxJobs: 600_000,
});

/**
 * `GET /metrics`' host reads: how old each may be before a scrape runs it again (smartctl wakes
 * disks and takes seconds; sensors are cheap and change fast), and how long a scrape waits for
 * a read it started before it answers with the last good one.
 */
export const METRICS_DEFAULTS = Object.freeze({
  /** `smart` of every disk, in milliseconds. */
  smartMaxAgeMs: 300_000,
  /** `sensors`, in milliseconds. */
  sensorsMaxAgeMs: 30_000,
  /** Under Prometheus' default 10 s scrape timeout, in milliseconds. */
  waitMs: 5_000,
});

/** The receiver (`deno task start`) unless its flags or `ROOTFENCE_*` variables say otherwise. */
export const RECEIVER_DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  port: 8787,
  /** Relative to the working directory. */
  stateDir: "./.rootfence",
  /** Who the listener runs as when the starter is root. */
  listenerUser: "nobody",
  /** What running jobs get on shutdown, in milliseconds. */
  graceMs: 30_000,
  /** Open client connections; more are closed on arrival. */
  maxConnections: 1024,
  /** A client's time to send its headers, in milliseconds. */
  headerTimeoutMs: 10_000,
  /** A client's time to send its body once the headers are in, in milliseconds. */
  bodyTimeoutMs: 10_000,
});

/** What `deno task systemd` installs unless its flags say otherwise. */
export const INSTALL_DEFAULTS = Object.freeze({
  /** The executor runs as a service user and its children gain root through sudo. */
  mode: "sudo",
  stateDir: "/var/lib/rootfence",
  /** Outside the state dir, so the listener's user needs no way into it. */
  socket: "/run/rootfence/executor.sock",
  listenerUser: "rootfence-http",
  /** The executor's own Deno cache, which only root may write. */
  denoDir: "/var/cache/rootfence/deno",
});
