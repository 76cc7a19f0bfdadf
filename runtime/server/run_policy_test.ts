import assert from "node:assert/strict";
import { RootfenceError } from "../errors.ts";
import { recordStart } from "./run_policy.ts";

/** A journal whose process-group write fails as a full disk's would, or works and records. */
function journal(fails: boolean) {
  const marked: unknown[][] = [];
  return {
    marked,
    markProcess(...args: [string, number, number, number]) {
      if (fails) throw new Error("database or disk is full");
      marked.push(args);
    },
  };
}

Deno.test("recordStart puts the process group, deadline and boot on record before the request", () => {
  const j = journal(false);
  const lines: Record<string, unknown>[] = [];
  recordStart(j, { id: "job1", op: "create-golden-lxc" }, 77, (l) => lines.push(l))(4242, 9000);
  assert.deepEqual(j.marked, [["job1", 4242, 9000, 77]]);
  assert.deepEqual(lines, []);
});

Deno.test("recordStart refuses a mutating op's start the journal cannot record; a read runs", () => {
  for (const op of ["create-golden-lxc", "mount-usb", "no-such-op"]) {
    const lines: Record<string, unknown>[] = [];
    const start = recordStart(journal(true), { id: "job1", op }, 77, (l) => lines.push(l));
    assert.throws(
      () => start(4242, 9000),
      (error) => error instanceof RootfenceError && error.code === "journal_unavailable",
      op,
    );
    assert.equal(lines[0]?.kind, "journal_error");
    assert.equal(lines[0]?.jobId, "job1");
  }
  for (const op of ["smart", "sensors"]) {
    const lines: Record<string, unknown>[] = [];
    recordStart(journal(true), { id: "job2", op }, 77, (l) => lines.push(l))(4242, 9000);
    assert.equal(lines[0]?.kind, "journal_error", op);
  }
});
