/**
 * Checkpoints the journal's WAL on a thread of its own. SQLite's automatic checkpoint runs inside
 * whichever commit crosses 1000 WAL pages and fsyncs the database there: measured here, every
 * ~118th read-only job stalled the executor's event loop for 9-12 ms, which is the receiver's
 * p99. With {@linkcode BackgroundCheckpoints} the journal turns the automatic checkpoint off and
 * this worker copies the WAL back every {@linkcode WRITES_PER_CHECKPOINT} writes instead.
 *
 * Crash safety is SQLite's: a checkpoint only copies committed frames, and a commit is as durable
 * as its `synchronous` level made it before the checkpoint ever runs.
 *
 * @module
 */

/** Writes between two checkpoints: about 50 WAL pages, a 20th of SQLite's own default. */
export const WRITES_PER_CHECKPOINT = 48;

/** What the worker answers a checkpoint with. */
export type CheckpointReply =
  | { readonly checkpointed: number; readonly log: number }
  | { readonly error: string };

/** A checkpoint thread for one database file. */
export class BackgroundCheckpoints {
  readonly #worker: Worker;
  #writes = 0;
  #pending = false;
  #closed: Promise<void> | undefined;
  readonly #replies: ((reply: CheckpointReply) => void)[] = [];

  /** @param path The database file (the worker opens its own connection to it). */
  constructor(path: string) {
    this.#worker = new Worker(new URL("./journal_checkpoint_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.postMessage({ path });
    this.#worker.onmessage = (event: MessageEvent) => {
      if (event.data === "closed") return;
      this.#pending = false;
      for (const listener of this.#replies.splice(0)) listener(event.data);
      if (this.#writes >= WRITES_PER_CHECKPOINT) this.#post();
    };
  }

  #post(): void {
    if (this.#pending || this.#closed !== undefined) return;
    this.#pending = true;
    this.#writes = 0;
    this.#worker.postMessage("checkpoint");
  }

  /** Counts one write; every {@linkcode WRITES_PER_CHECKPOINT} of them start a checkpoint. */
  wrote(): void {
    if (++this.#writes >= WRITES_PER_CHECKPOINT) this.#post();
  }

  /** Checkpoints now and resolves with what the worker did; for tests and shutdown. */
  checkpoint(): Promise<CheckpointReply> {
    const reply = new Promise<CheckpointReply>((resolve) => this.#replies.push(resolve));
    if (this.#pending) return reply.then(() => this.checkpoint());
    this.#post();
    return reply;
  }

  /** Closes the worker's connection, then ends the worker. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      const worker = this.#worker;
      worker.onmessage = (event: MessageEvent) => {
        if (event.data !== "closed") return;
        worker.terminate();
        resolve();
      };
      worker.postMessage("close");
    });
    return this.#closed;
  }
}
