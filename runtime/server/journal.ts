/**
 * The durable job journal on Deno's built-in `node:sqlite` (WAL). A mutating op's job is synced
 * (`synchronous=FULL`, an fsync per commit) before it is acknowledged and every transition before
 * it is reported, so its host command never starts unrecorded. A read-only op's rows are
 * committed without their own fsync (`synchronous=NORMAL`): they survive a crash of the process,
 * and the next synced commit takes them to disk too; a power loss may take the last few, which
 * costs nothing but a re-read. A read-only job whose client waits for its end is held in memory
 * and written once, when it ends: one commit instead of three or four (accepted, running, process
 * group, end). It is written earlier when something a client can see names it before its end (an
 * answer, a job that joins its run), or once it is `holdMs` old, so a long read's process group is
 * on record for the next executor; a crash before either takes it with it, and since nobody was
 * told of it, a redelivery runs it again. Its files are mode 0600 and never symlinks (Deno checks
 * `--allow-write` against a path, not against where a symlink leads). Needs read and write
 * permission for the database file's directory.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { RootfenceError } from "../errors.ts";
import { BackgroundCheckpoints } from "./journal_checkpoint.ts";
import type { Progress } from "../process/protocol.ts";

/** Where a job is in its life. */
export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "timed_out" | "interrupted";

/** The statuses a job ends in. */
export const FINAL_STATUSES: readonly JobStatus[] = [
  "succeeded",
  "failed",
  "timed_out",
  "interrupted",
];

/** One job as stored. */
export interface Job {
  readonly id: string;
  readonly keyId: string;
  readonly deliveryId: string;
  readonly bodyHash: string;
  readonly op: string;
  readonly input: unknown;
  readonly resourceKeys: readonly string[];
  readonly status: JobStatus;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly result: unknown;
  /**
   * The job whose run served this one (an identical read's), or `null` when it ran itself.
   */
  readonly servedBy: string | null;
}

/** What to accept. */
export type NewJob = Pick<
  Job,
  "keyId" | "deliveryId" | "bodyHash" | "op" | "input" | "resourceKeys"
>;

/** The outcome of {@linkcode Journal.accept}. */
export type Accepted =
  | { readonly kind: "created"; readonly job: Job }
  | { readonly kind: "existing"; readonly job: Job }
  | { readonly kind: "conflict"; readonly job: Job };

/** Filters for {@linkcode Journal.list}. */
export interface JobQuery {
  readonly keyId: string;
  readonly op?: string;
  readonly status?: JobStatus;
  readonly limit: number;
}

/** One progress line of a job (or its truncation marker), as stored. */
export interface ProgressRow {
  /** Its event id within the job: 3 and up, one more per row (see `job_events.ts`). */
  readonly seq: number;
  /** When it came, in ms since the epoch. */
  readonly at: number;
  readonly progress: Progress;
}

/** A running job's process group, as the journal recorded it. */
export interface RunningProcess {
  readonly jobId: string;
  readonly pgid: number;
  /** When its timeout ends, in ms since the epoch. */
  readonly deadline: number;
  /** When the machine had booted, in ms since the epoch (to the second). */
  readonly boot: number | null;
  readonly resourceKeys: readonly string[];
}

/**
 * What a list shows of a job: no input and no result, so a page of 500 stays small however
 * large each result is (a full job is read one at a time with {@linkcode Journal.get}).
 */
export interface JobSummary {
  readonly id: string;
  readonly keyId: string;
  readonly deliveryId: string;
  readonly op: string;
  readonly status: JobStatus;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** The error code of a failed job. */
  readonly errorCode: string | null;
}

interface Row {
  id: string;
  key_id: string;
  delivery_id: string;
  body_hash: string;
  op: string;
  input: string;
  resource_keys: string;
  status: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  result: string | null;
  served_by: string | null;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

/**
 * Whether an error came from the journal's storage (node:sqlite: a full disk, an I/O error, a
 * read-only or damaged file). Such an error is answered 503 `journal_unavailable`, never fatal.
 */
export function isStorageError(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === "ERR_SQLITE_ERROR";
}

type SummaryRow = Omit<Row, "body_hash" | "input" | "resource_keys" | "result" | "served_by"> & {
  error_code: unknown;
};

function toJob(row: Row): Job {
  return {
    id: row.id,
    keyId: row.key_id,
    deliveryId: row.delivery_id,
    bodyHash: row.body_hash,
    op: row.op,
    input: JSON.parse(row.input),
    resourceKeys: JSON.parse(row.resource_keys),
    status: row.status as JobStatus,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    result: row.result === null ? null : JSON.parse(row.result),
    servedBy: row.served_by,
  };
}

/** The columns a job is written with first: `id` to `resource_keys`, in the table's order. */
function identityOf(
  id: string,
  job: NewJob,
): [string, string, string, string, string, string, string] {
  return [
    id,
    job.keyId,
    job.deliveryId,
    job.bodyHash,
    job.op,
    JSON.stringify(job.input),
    JSON.stringify(job.resourceKeys),
  ];
}

/** A job just accepted, as it is (or would be) written. */
function newJob(
  id: string,
  job: NewJob,
  now: number,
  status: "queued" | "running",
  servedBy: string | null,
): Job {
  return {
    id,
    keyId: job.keyId,
    deliveryId: job.deliveryId,
    bodyHash: job.bodyHash,
    op: job.op,
    input: job.input,
    resourceKeys: job.resourceKeys,
    status,
    createdAt: now,
    startedAt: status === "running" ? now : null,
    finishedAt: null,
    result: null,
    servedBy,
  };
}

/** The database file and the files SQLite keeps beside it. */
function journalFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`, `${path}-journal`];
}

/** Refuses a journal file that is a symlink, or anything but a regular file. */
function refuseOddFiles(path: string): void {
  for (const file of journalFiles(path)) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    if (!info.isFile) {
      const what = info.isSymlink ? "a symlink" : "not a regular file";
      throw new RootfenceError(
        "denied",
        `Cannot open journal "${path}": "${file}" is ${what}; remove it`,
      );
    }
  }
}

/**
 * The progress lines of jobs (`job_events.ts` derives the other events from the job's row). A
 * journal from before it gains the table on open; its jobs simply have no progress. A job's
 * lines go when the job is pruned, by a trigger, so no prune needs to know of them.
 */
function createProgressTable(db: DatabaseSync): void {
  db.exec(`CREATE TABLE IF NOT EXISTS job_progress (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    progress TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
  ) WITHOUT ROWID`);
  db.exec(`CREATE TRIGGER IF NOT EXISTS job_progress_pruned AFTER DELETE ON jobs
    BEGIN DELETE FROM job_progress WHERE job_id = old.id; END`);
}

/** How {@linkcode Journal.open} treats rows. */
export interface JournalOptions {
  /**
   * Whether an op's rows are synced before each write returns (its commits fsync).
   * @default {() => true}
   */
  readonly synced?: (op: string) => boolean;
  /**
   * Where the WAL is checkpointed: `"inline"` is SQLite's automatic checkpoint inside a commit;
   * `"background"` moves it to a worker thread (see `journal_checkpoint.ts`), so no commit on the
   * event loop ever waits for one.
   * @default {"inline"}
   */
  readonly checkpoints?: "inline" | "background";
  /**
   * How long a held read-only job (see {@linkcode Journal.accept}) may wait and run before it is
   * written.
   * @default {1000}
   */
  readonly holdMs?: number;
}

/** A held job's process group, once its child has started. */
interface HeldProcess {
  readonly pgid: number;
  readonly deadline: number;
  readonly boot: number;
}

/** A held job: not written yet (see {@linkcode Journal.accept}). */
interface Held {
  process?: HeldProcess;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** The journal. Open one with {@linkcode Journal.open}. */
export class Journal {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #synced: (op: string) => boolean;
  readonly #checkpoints: BackgroundCheckpoints | undefined;
  #full = true;
  /**
   * Every job accepted here and not finished yet, as last written: a transition writes its row
   * and never reads it back, and reading an unfinished job reads no row. Bounded by the queue,
   * the running limit and the jobs each run serves.
   */
  readonly #live = new Map<string, Job>();
  /** The unfinished jobs each run serves, by the id of the job that runs. */
  readonly #served = new Map<string, Set<string>>();
  /** Jobs accepted and not written yet, by id: a subset of {@linkcode #live}. */
  readonly #held = new Map<string, Held>();
  /** The held jobs' ids, by key id and delivery id: a redelivery must find them. */
  readonly #heldDeliveries = new Map<string, Map<string, string>>();
  readonly #holdMs: number;
  /**
   * The delivery {@linkcode findDelivery} last found no job for, until the next write: the
   * scheduler looks a delivery up just before it accepts it, and a held job's accept then needs
   * no second read.
   */
  #missed: { readonly keyId: string; readonly deliveryId: string } | undefined;

  private constructor(
    db: DatabaseSync,
    synced: (op: string) => boolean,
    checkpoints: BackgroundCheckpoints | undefined,
    holdMs: number,
  ) {
    this.#db = db;
    this.#synced = synced;
    this.#checkpoints = checkpoints;
    this.#holdMs = holdMs;
  }

  /** The checkpoint thread, when checkpoints run in the background. */
  get checkpoints(): BackgroundCheckpoints | undefined {
    return this.#checkpoints;
  }

  /** Sets the sync level for the next commit, which writes a row of `op`. */
  #syncFor(op: string | undefined): void {
    this.#syncAll(op === undefined || this.#synced(op));
  }

  #syncAll(full: boolean): void {
    // Every write sets its sync level first: the one place that sees them all.
    this.#missed = undefined;
    this.#checkpoints?.wrote();
    if (full === this.#full) return;
    this.#db.exec(full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    this.#full = full;
  }

  /** Sets the sync level for a write to the job `id`. */
  #syncForJob(id: string): void {
    const live = this.#live.get(id);
    if (live !== undefined) return this.#syncFor(live.op);
    const row = this.#sql("SELECT op FROM jobs WHERE id = ?").get(id) as
      | { op: string }
      | undefined;
    this.#syncFor(row?.op);
  }

  /** Remembers an unfinished job (and, when a run serves it, which). */
  #keep(job: Job): void {
    this.#live.set(job.id, job);
    if (job.servedBy === null) return;
    const served = this.#served.get(job.servedBy) ?? new Set();
    served.add(job.id);
    this.#served.set(job.servedBy, served);
  }

  /** A prepared statement, prepared once (preparing costs more than running, per call). */
  #sql(text: string): StatementSync {
    let statement = this.#statements.get(text);
    if (statement === undefined) {
      statement = this.#db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  /**
   * Opens (creating if needed) the journal at `path`. The database is created mode 0600 before
   * SQLite opens it (SQLite gives its WAL and shared-memory files the database's mode), and the
   * mode of every existing journal file is narrowed to 0600.
   *
   * @param path The database file.
   * @param options Which ops' rows are synced.
   * @returns The open journal.
   * @throws {RootfenceError} `denied` when a journal file is a symlink or not a regular file.
   */
  static open(path: string, options: JournalOptions = {}): Journal {
    const { synced = () => true, checkpoints = "inline", holdMs = 1000 } = options;
    refuseOddFiles(path);
    try {
      // O_CREAT | O_EXCL: never follows a symlink planted after the check above.
      Deno.openSync(path, { write: true, createNew: true, mode: 0o600 }).close();
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
      // A damaged file fails here, in one line, not on some later read as a 500.
      const check = db.prepare("PRAGMA quick_check").all() as { quick_check?: string }[];
      const verdict = check.map((row) => row.quick_check ?? "").filter((v) => v !== "ok");
      if (verdict.length > 0) {
        db.close();
        throw new Error(`quick_check found ${verdict.length} problem(s): ${verdict[0]}`);
      }
    } catch (error) {
      throw new Error(`Cannot open the journal "${path}": ${firstLine(error)}`);
    }
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA busy_timeout = 5000");
    // The WAL is rewound after each full checkpoint; past this size it is also truncated.
    db.exec("PRAGMA journal_size_limit = 4194304");
    if (checkpoints === "background") db.exec("PRAGMA wal_autocheckpoint = 0");
    db.exec(`CREATE TABLE IF NOT EXISTS jobs (
      id TEXT PRIMARY KEY,
      key_id TEXT NOT NULL,
      delivery_id TEXT NOT NULL,
      body_hash TEXT NOT NULL,
      op TEXT NOT NULL,
      input TEXT NOT NULL,
      resource_keys TEXT NOT NULL,
      status TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      started_at INTEGER,
      finished_at INTEGER,
      result TEXT,
      UNIQUE (key_id, delivery_id)
    )`);
    db.exec("CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at)");
    // Where a running job's processes are and until when they may run: after a crash the next
    // executor finds them here, keeps their resources locked and still enforces the deadline.
    const columns = (db.prepare("PRAGMA table_info(jobs)").all() as { name: string }[])
      .map((c) => c.name);
    if (!columns.includes("pgid")) db.exec("ALTER TABLE jobs ADD COLUMN pgid INTEGER");
    if (!columns.includes("deadline")) db.exec("ALTER TABLE jobs ADD COLUMN deadline INTEGER");
    if (!columns.includes("boot")) db.exec("ALTER TABLE jobs ADD COLUMN boot INTEGER");
    // The job whose run served this one: identical reads share a run (see the scheduler).
    if (!columns.includes("served_by")) db.exec("ALTER TABLE jobs ADD COLUMN served_by TEXT");
    createProgressTable(db);
    try {
      refuseOddFiles(path);
      for (const file of journalFiles(path)) {
        try {
          Deno.chmodSync(file, 0o600);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
    } catch (error) {
      db.close();
      throw error;
    }
    return new Journal(
      db,
      synced,
      checkpoints === "background" ? new BackgroundCheckpoints(path) : undefined,
      holdMs,
    );
  }

  /** The job a key already started with this delivery id, if any. */
  findDelivery(keyId: string, deliveryId: string): Job | undefined {
    const held = this.#heldDeliveries.get(keyId)?.get(deliveryId);
    if (held !== undefined) return this.#live.get(held);
    const row = this.#sql("SELECT * FROM jobs WHERE key_id = ? AND delivery_id = ?")
      .get(keyId, deliveryId) as Row | undefined;
    if (row === undefined) this.#missed = { keyId, deliveryId };
    return row === undefined ? undefined : toJob(row);
  }

  /**
   * Stores a new job as `queued` (or directly as `running`, when it starts at once: one write
   * instead of two), unless the key already sent this delivery id: then the same job comes back
   * (same body) or a conflict (another body). Atomic.
   *
   * @param job The job.
   * @param now The time, in ms since the epoch.
   * @param status `queued`, or `running` for a job that starts at once.
   * @param servedBy The job whose run will serve this one (see {@linkcode Job.servedBy}); its
   * later transitions ({@linkcode markRunning}, {@linkcode markFinished}) carry this one along.
   * @param hold Whether a read-only job whose run is its own (no `servedBy`) may be held: kept in
   * memory, not written, until {@linkcode markFinished}, {@linkcode persist} or `holdMs`,
   * whichever comes first. For a job whose client waits for its end: its one commit is then the
   * end's, queued or not.
   */
  accept(
    job: NewJob,
    now: number,
    status: "queued" | "running" = "queued",
    servedBy: string | null = null,
    hold = false,
  ): Accepted {
    const id = crypto.randomUUID();
    // A job that joins a running run started when that run did: its reading is no fresher.
    const runStart = servedBy === null ? undefined : this.#live.get(servedBy)?.startedAt;
    const startedAt = status === "running" ? runStart ?? now : null;
    // A held job has no row for the insert below to run into.
    const held = this.#heldDeliveries.get(job.keyId)?.get(job.deliveryId);
    if (held !== undefined) return this.#priorOf(job, this.#live.get(held)!);
    // A job served by a held run names it (`servedBy`): the run is on record first.
    if (servedBy !== null) this.persist(servedBy);
    if (hold && servedBy === null && !this.#synced(job.op)) {
      const missed = this.#missed;
      const unseen = missed?.keyId === job.keyId && missed.deliveryId === job.deliveryId;
      const prior = unseen ? undefined : this.findDelivery(job.keyId, job.deliveryId);
      if (prior !== undefined) return this.#priorOf(job, prior);
      return { kind: "created", job: this.#hold(id, job, now, status) };
    }
    this.#syncFor(job.op);
    // A delivery id the key already used inserts nothing: one statement either way.
    const inserted = this.#sql(
      `INSERT INTO jobs (id, key_id, delivery_id, body_hash, op, input, resource_keys, status,
        created_at, started_at, served_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key_id, delivery_id) DO NOTHING`,
    ).run(
      ...identityOf(id, job),
      status,
      now,
      startedAt,
      servedBy,
    );
    if (Number(inserted.changes) === 0) return this.#prior(job);
    // Built from what was written, not read back.
    const created = { ...newJob(id, job, now, status, servedBy), startedAt };
    this.#keep(created);
    return { kind: "created", job: created };
  }

  /** The job a delivery id already made: the same (same body and op) or a conflict. */
  #prior(job: NewJob): Accepted {
    return this.#priorOf(job, this.findDelivery(job.keyId, job.deliveryId)!);
  }

  #priorOf(job: NewJob, existing: Job): Accepted {
    const same = existing.bodyHash === job.bodyHash && existing.op === job.op;
    return { kind: same ? "existing" : "conflict", job: existing };
  }

  /** Keeps a new job in memory only, and writes it after `holdMs` if it has not ended. */
  #hold(id: string, job: NewJob, now: number, status: "queued" | "running"): Job {
    this.#missed = undefined;
    const created = newJob(id, job, now, status, null);
    this.#keep(created);
    const timer = setTimeout(() => {
      try {
        this.persist(id);
      } catch {
        // Still held: its end writes it, and that write's failure is reported and retried.
      }
    }, this.#holdMs);
    // Under node's timer types a timer is an object whose number is its id.
    Deno.unrefTimer(Number(timer));
    this.#held.set(id, { timer });
    const deliveries = this.#heldDeliveries.get(job.keyId) ?? new Map<string, string>();
    deliveries.set(job.deliveryId, id);
    this.#heldDeliveries.set(job.keyId, deliveries);
    return created;
  }

  /**
   * Writes a held job's row as it is now (queued, running or finished). The caller sets the sync
   * level first: SQLite refuses to change it inside a transaction.
   */
  #writeHeld(job: Job, held: Held): void {
    this.#sql(
      `INSERT INTO jobs (id, key_id, delivery_id, body_hash, op, input, resource_keys, status,
        created_at, started_at, finished_at, result, pgid, deadline, boot)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      ...identityOf(job.id, job),
      job.status,
      job.createdAt,
      job.startedAt,
      job.finishedAt,
      job.result === null ? null : JSON.stringify(job.result),
      held.process?.pgid ?? null,
      held.process?.deadline ?? null,
      held.process?.boot ?? null,
    );
  }

  #unhold(job: Job): void {
    const held = this.#held.get(job.id);
    if (held === undefined) return;
    clearTimeout(held.timer);
    this.#held.delete(job.id);
    const deliveries = this.#heldDeliveries.get(job.keyId);
    deliveries?.delete(job.deliveryId);
    if (deliveries?.size === 0) this.#heldDeliveries.delete(job.keyId);
  }

  /**
   * Writes a held job now (see {@linkcode accept}); a job that is not held is already written.
   * Call it before anything about the job leaves, such as an answer naming it.
   *
   * @throws {Error} A storage error; then the job stays held.
   */
  persist(id: string): void {
    const held = this.#held.get(id);
    const job = this.#live.get(id);
    if (held === undefined || job === undefined) return;
    this.#syncFor(job.op);
    this.#writeHeld(job, held);
    this.#unhold(job);
  }

  /**
   * Stores a new job that an earlier identical run answers at once: it is final from the start,
   * with that run's status, result and times (copied inside SQLite, never parsed) and `servedBy`
   * naming it, so its `startedAt` says how old its reading is even to a key that cannot read the
   * run's own job. Redeliveries and conflicts come back as from {@linkcode accept}.
   *
   * @param job The job.
   * @param now The time, in ms since the epoch.
   * @param from The finished job whose run answers it.
   * @returns What was stored, or `undefined` when `from` is no longer in the journal.
   */
  acceptAnswered(job: NewJob, now: number, from: string): Accepted | undefined {
    const existing = this.findDelivery(job.keyId, job.deliveryId);
    if (existing !== undefined) return this.#prior(job);
    const id = crypto.randomUUID();
    this.#syncFor(job.op);
    const inserted = this.#sql(
      `INSERT INTO jobs (id, key_id, delivery_id, body_hash, op, input, resource_keys, status,
        created_at, started_at, finished_at, result, served_by)
       SELECT ?, ?, ?, ?, ?, ?, ?, status, ?, started_at, finished_at, result, id FROM jobs
       WHERE id = ?`,
    ).run(
      ...identityOf(id, job),
      now,
      from,
    );
    if (Number(inserted.changes) === 0) return undefined;
    return { kind: "created", job: this.get(id)! };
  }

  /** Records that a queued job started, and with it every job its run serves. */
  markRunning(id: string, now: number): Job {
    // A held job starts in memory (and serves no other job: see `accept`).
    if (!this.#held.has(id)) {
      this.#syncForJob(id);
      this.#sql(
        `UPDATE jobs SET status = 'running', started_at = ?1
         WHERE id = ?2 OR (served_by = ?2 AND status = 'queued')`,
      ).run(now, id);
    }
    const live = this.#live.get(id);
    if (live === undefined) return this.get(id)!;
    const running: Job = { ...live, status: "running", startedAt: now };
    this.#live.set(id, running);
    for (const served of this.#served.get(id) ?? []) {
      const follower = this.#live.get(served);
      if (follower?.status === "queued") {
        this.#live.set(served, { ...follower, status: "running", startedAt: now });
      }
    }
    return running;
  }

  /**
   * Records the process group a running job's child leads, its deadline, and when the machine
   * booted (a pgid means nothing after a reboot).
   */
  markProcess(id: string, pgid: number, deadline: number, boot: number): void {
    const held = this.#held.get(id);
    if (held !== undefined) {
      held.process = { pgid, deadline, boot };
      // A held job that takes a resource (a disk) goes on record now, before its request is sent:
      // after a crash the next executor must keep that disk taken until this process is gone.
      if ((this.#live.get(id)?.resourceKeys.length ?? 0) > 0) this.persist(id);
      return;
    }
    this.#syncForJob(id);
    this.#sql("UPDATE jobs SET pgid = ?, deadline = ?, boot = ? WHERE id = ?")
      .run(pgid, deadline, boot, id);
  }

  /**
   * Running jobs whose process group is known: what a crash may have left behind. With them, the
   * jobs an earlier executor found so and wrote `interrupted` (see {@linkcode interruptRunning})
   * whose group nobody has yet seen gone, while their deadline is ahead: past it, their pgid may
   * name someone else's group by now, and an executor that watched it would have killed it then.
   *
   * @param now The time, in ms since the epoch.
   */
  runningProcesses(now: number = Date.now()): RunningProcess[] {
    const rows = this.#sql(
      `SELECT id, pgid, deadline, boot, resource_keys FROM jobs WHERE pgid IS NOT NULL AND
        (status = 'running' OR (status = 'interrupted' AND deadline > ? AND
          json_extract(result, '$.error.processes') = 'running'))`,
    ).all(now) as {
      id: string;
      pgid: number;
      deadline: number;
      boot: number | null;
      resource_keys: string;
    }[];
    return rows.map((row) => ({
      jobId: row.id,
      pgid: row.pgid,
      deadline: row.deadline,
      boot: row.boot,
      resourceKeys: JSON.parse(row.resource_keys),
    }));
  }

  /** Notes on an interrupted job what became of its processes (`running` or `gone`). */
  markProcesses(id: string, processes: "running" | "gone", now: number): Job {
    this.#syncForJob(id);
    this.#sql(
      `UPDATE jobs SET result = json_set(result, '$.error.processes', ?1, '$.error.checkedAt', ?2)
       WHERE id = ?3 OR (served_by = ?3 AND status = 'interrupted')`,
    ).run(processes, now, id);
    return this.get(id)!;
  }

  /** Records how a job ended, and with it every job its run served. */
  markFinished(id: string, status: JobStatus, result: unknown, now: number): Job {
    const held = this.#held.get(id);
    const heldJob = this.#live.get(id);
    if (held !== undefined && heldJob !== undefined) {
      // Never a run that serves others: a job that joins a held run writes it first.
      const finished: Job = { ...heldJob, status, finishedAt: now, result };
      this.#syncFor(finished.op);
      this.#writeHeld(finished, held);
      this.#unhold(finished);
      this.#forget(id);
      return finished;
    }
    this.#syncForJob(id);
    this.#sql(
      `UPDATE jobs SET status = ?1, finished_at = ?2, result = ?3
       WHERE id = ?4 OR (served_by = ?4 AND status IN ('queued', 'running'))`,
    ).run(status, now, JSON.stringify(result), id);
    const live = this.#live.get(id);
    this.#forget(id);
    return live === undefined ? this.get(id)! : { ...live, status, finishedAt: now, result };
  }

  /** Drops a finished job and the jobs its run served from memory. */
  #forget(id: string): void {
    for (const served of this.#served.get(id) ?? []) this.#live.delete(served);
    this.#served.delete(id);
    this.#live.delete(id);
  }

  /** Runs `write` in one transaction: all of it is stored, or none. */
  #inTransaction(write: () => void): void {
    this.#db.exec("BEGIN");
    try {
      write();
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * After a crash: every job still `running` becomes `interrupted` (mutating ops are never
   * re-run on their own). Returns those jobs.
   */
  interruptRunning(now: number): Job[] {
    const rows = this.#sql("SELECT * FROM jobs WHERE status = 'running'").all() as unknown[];
    const result = {
      ok: false,
      error: {
        code: "interrupted",
        message: "Cannot finish: the receiver stopped while it ran; what the host command did " +
          "is unknown",
        outcome: "unknown",
      },
    };
    this.#syncAll(true);
    this.#sql(
      // A job whose process group is on record may have left it running: it stays an orphan
      // (see runningProcesses) until a watcher notes it gone, even if this executor dies too.
      // A job another run served shares that run's processes: it reads what the run reads.
      `UPDATE jobs SET status = 'interrupted', finished_at = ?1, result = CASE WHEN
        COALESCE(pgid, (SELECT run.pgid FROM jobs AS run WHERE run.id = jobs.served_by)) IS NULL
        THEN ?2 ELSE json_set(?2, '$.error.processes', 'running') END WHERE status = 'running'`,
    ).run(now, JSON.stringify(result));
    return (rows as Row[]).map((row) => ({ ...toJob(row), status: "interrupted" as const }));
  }

  /** Queued jobs, oldest first. */
  queued(): Job[] {
    const rows = this.#sql(
      "SELECT * FROM jobs WHERE status = 'queued' ORDER BY created_at, rowid",
    )
      .all() as unknown[];
    const jobs = (rows as Row[]).map(toJob);
    for (const job of jobs) this.#keep(job);
    return jobs;
  }

  /** One job, or `undefined`. */
  get(id: string): Job | undefined {
    const live = this.#live.get(id);
    if (live !== undefined) return live;
    const row = this.#sql("SELECT * FROM jobs WHERE id = ?").get(id) as Row | undefined;
    return row === undefined ? undefined : toJob(row);
  }

  /**
   * The newest jobs of a key as summaries. The result and input columns are never read, so the
   * memory a list costs does not grow with what the ops returned.
   */
  summaries(query: JobQuery): JobSummary[] {
    const where = ["key_id = ?"];
    const args: (string | number)[] = [query.keyId];
    if (query.op !== undefined) {
      where.push("op = ?");
      args.push(query.op);
    }
    if (query.status !== undefined) {
      where.push("status = ?");
      args.push(query.status);
    }
    const rows = this.#sql(
      `SELECT id, key_id, delivery_id, op, status, created_at, started_at, finished_at,
        json_extract(result, '$.error.code') AS error_code
       FROM jobs WHERE ${where.join(" AND ")} ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    ).all(...args, query.limit) as unknown as SummaryRow[];
    return rows.map((row) => ({
      id: row.id,
      keyId: row.key_id,
      deliveryId: row.delivery_id,
      op: row.op,
      status: row.status as JobStatus,
      createdAt: row.created_at,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      errorCode: typeof row.error_code === "string" ? row.error_code : null,
    }));
  }

  /**
   * Deletes up to `batch` finished jobs that are too old, or beyond the newest `keep` finished
   * ones: one small statement, so a caller can spread a large prune over many turns. Queued and
   * running jobs are never touched.
   *
   * @returns How many jobs were deleted (0 when nothing is left to prune).
   */
  pruneBatch(options: { olderThan: number; keep: number; batch: number }): number {
    const finished = "status NOT IN ('queued', 'running')";
    // A prune lost to a power cut is simply done again.
    this.#syncAll(false);
    const old = this.#sql(
      `DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs WHERE ${finished}
        AND finished_at < ? LIMIT ?)`,
    ).run(options.olderThan, options.batch);
    if (Number(old.changes) > 0) return Number(old.changes);
    const extra = this.#sql(
      `DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs WHERE ${finished}
        ORDER BY finished_at DESC, rowid DESC LIMIT ? OFFSET ?)`,
    ).run(options.batch, options.keep);
    return Number(extra.changes);
  }

  /**
   * Stores progress rows of one running job in one transaction, synced as the job's other rows.
   *
   * @throws {Error} A storage error; then none of the rows is stored.
   */
  addProgress(jobId: string, rows: readonly ProgressRow[]): void {
    if (rows.length === 0) return;
    // A job's progress is never stored without its row, which the prune deletes it with.
    this.persist(jobId);
    this.#syncForJob(jobId);
    const insert = this.#sql(
      "INSERT INTO job_progress (job_id, seq, at, progress) VALUES (?, ?, ?, ?)",
    );
    this.#inTransaction(() => {
      for (const row of rows) insert.run(jobId, row.seq, row.at, JSON.stringify(row.progress));
    });
  }

  /** Up to `limit` progress rows of a job whose `seq` is above `after`, in order. */
  progressAfter(jobId: string, after: number, limit: number): ProgressRow[] {
    const rows = this.#sql(
      "SELECT seq, at, progress FROM job_progress WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
    ).all(jobId, after, limit) as unknown as { seq: number; at: number; progress: string }[];
    return rows.map((row) => ({ seq: row.seq, at: row.at, progress: JSON.parse(row.progress) }));
  }

  /** The `seq` of a job's last progress row, or `undefined` when it has none. */
  lastProgress(jobId: string): number | undefined {
    const row = this.#sql("SELECT MAX(seq) AS seq FROM job_progress WHERE job_id = ?")
      .get(jobId) as { seq: number | null } | undefined;
    return row?.seq ?? undefined;
  }

  /** Closes the database. */
  close(): void {
    for (const held of this.#held.values()) clearTimeout(held.timer);
    // The worker's connection closes on its own thread; ours may close first.
    void this.#checkpoints?.close();
    this.#db.close();
  }
}
