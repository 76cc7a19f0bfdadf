/**
 * The work a fenced receiver cannot skip, done as plainly as it can be, for the shape's
 * executor with `--work`: the Standard Webhooks signature (rootfence's own check), the bridge
 * line's and the op's input schemas, the body's hash and the delivery lookup that keep a
 * redelivery from running twice, the child's reply schema, one commit per job to a SQLite
 * journal in WAL (as a read-only job's, `synchronous=NORMAL`) and one log line. No framework,
 * scheduler or streaming: what is left between this and rootfence is what those cost.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { z } from "zod";
import { findOp, OPS } from "../../ops/mod.ts";
import { BridgeRequest } from "../../runtime/server/bridge.ts";
import { verifySignature } from "../../runtime/server/signature.ts";
import { resolveSettings } from "../../runtime/settings.ts";
import { verifyingSecret } from "../../runtime/signing.ts";

const Reply = z.union([
  z.strictObject({ ok: z.literal(true), value: z.unknown() }),
  z.strictObject({
    ok: z.literal(false),
    error: z.looseObject({ code: z.string(), message: z.string() }),
  }),
]);

/** Serves request lines: `run` takes the validated input's line and answers the child's. */
export async function worker(
  dir: string,
  secret: string,
  run: (op: string, line: string) => Promise<string>,
): Promise<(line: string) => Promise<string>> {
  const keys = [{ id: "bench", secrets: [await verifyingSecret(secret)] }];
  const settings = resolveSettings(OPS);
  const db = new DatabaseSync(`${dir}/shape-journal.db`);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec(`CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, key_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL, body_hash TEXT NOT NULL, op TEXT NOT NULL, input TEXT NOT NULL,
    status TEXT NOT NULL, created_at INTEGER NOT NULL, finished_at INTEGER, result TEXT,
    UNIQUE (key_id, delivery_id))`);
  db.exec("CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at)");
  const seen = db.prepare("SELECT id FROM jobs WHERE key_id = ? AND delivery_id = ?");
  const insert = db.prepare("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  let log: string[] = [];
  const text = new TextDecoder();
  return async (line) => {
    const request = BridgeRequest.parse(JSON.parse(line));
    const body = Uint8Array.fromBase64(request.body);
    const verified = await verifySignature(new Headers(request.headers), body, {
      keys,
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    if (!verified.ok) return JSON.stringify({ status: 401, code: verified.code });
    const op = findOp(request.path.slice(1))!;
    const input = op.schema(settings).parse(JSON.parse(text.decode(body)));
    const hash = createHash("sha256").update(body).digest("hex");
    if (seen.get(verified.key.id, verified.deliveryId) !== undefined) {
      return JSON.stringify({ status: 409 });
    }
    const created = Date.now();
    const reply = Reply.parse(JSON.parse(await run(op.name, JSON.stringify(input))));
    const id = crypto.randomUUID();
    const status = reply.ok ? "succeeded" : "failed";
    insert.run(
      id,
      verified.key.id,
      verified.deliveryId,
      hash,
      op.name,
      JSON.stringify(input),
      status,
      created,
      Date.now(),
      JSON.stringify(reply),
    );
    if (log.length === 0) {
      setTimeout(() => {
        console.log(log.join("\n"));
        log = [];
      }, 50);
    }
    log.push(JSON.stringify({ t: new Date().toISOString(), job: id, op: op.name, status }));
    return JSON.stringify({ jobId: id, status, result: reply });
  };
}
