/**
 * The journal's checkpoint thread (see `journal_checkpoint.ts`): its own connection to the same
 * database copies the WAL back into it, so the fsync that takes never stalls the executor's
 * event loop. Messages in: `{ path }` once, then `"checkpoint"`, then `"close"`.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";

/** The worker's own scope: `self` under Deno's worker lib. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
};

/** WAL pages (4 KiB each) past which a checkpoint may hold writers back: 16 MiB. */
const RESTART_FRAMES = 4096;

let db: DatabaseSync | undefined;

function checkpoint(mode: "PASSIVE" | "RESTART"): { log: number; checkpointed: number } {
  const row = db?.prepare(`PRAGMA wal_checkpoint(${mode})`).get() as
    | { log: number; checkpointed: number }
    | undefined;
  return { log: row?.log ?? 0, checkpointed: row?.checkpointed ?? 0 };
}

scope.onmessage = (event: MessageEvent) => {
  const message = event.data as { path: string } | "checkpoint" | "close";
  try {
    if (typeof message === "object") {
      db = new DatabaseSync(message.path);
      db.exec("PRAGMA busy_timeout = 1000");
    } else if (message === "checkpoint") {
      // PASSIVE copies what is committed and never blocks a writer; the next write after it has
      // caught up rewinds the WAL. Under writes with no gap it never catches up, so past
      // RESTART_FRAMES one RESTART (which holds writers back for its last frames and fsync)
      // bounds the file.
      let row = checkpoint("PASSIVE");
      if (row.log > RESTART_FRAMES) row = checkpoint("RESTART");
      scope.postMessage({ checkpointed: row.checkpointed, log: row.log });
    } else {
      db?.close();
      db = undefined;
      scope.postMessage("closed");
      scope.close();
    }
  } catch (error) {
    // A busy or failed checkpoint is only postponed: the next one copies the same frames.
    scope.postMessage({ error: String(error) });
  }
};
