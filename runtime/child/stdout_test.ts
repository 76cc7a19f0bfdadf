import assert from "node:assert/strict";
import { type Output, SYNC_REPLY_BYTES, writeReply } from "./stdout.ts";

/** An output that takes `step` bytes per write and counts each kind. */
function countingOutput(step: number): Output & { got: number[]; sync: number; awaited: number } {
  const out = {
    got: [] as number[],
    sync: 0,
    awaited: 0,
    writeSync(bytes: Uint8Array): number {
      out.sync++;
      out.got.push(...bytes.subarray(0, step));
      return Math.min(step, bytes.length);
    },
    write(bytes: Uint8Array): Promise<number> {
      out.awaited++;
      out.got.push(...bytes.subarray(0, step));
      return Promise.resolve(Math.min(step, bytes.length));
    },
  };
  return out;
}

Deno.test("writeReply() writes a short quiet reply from this thread, anything else awaited, all of it", async () => {
  const cases: [string, number, boolean, "sync" | "awaited"][] = [
    ["a short reply of an op without progress", 100, true, "sync"],
    ["one exactly at the limit", SYNC_REPLY_BYTES, true, "sync"],
    ["one past the limit", SYNC_REPLY_BYTES + 1, true, "awaited"],
    ["a short reply after progress lines", 100, false, "awaited"],
  ];
  for (const [name, length, quiet, kind] of cases) {
    const bytes = Uint8Array.from({ length }, (_, i) => i % 251);
    const out = countingOutput(7_000);
    await writeReply(bytes, quiet, out);
    assert.deepEqual(out.got, [...bytes], name);
    assert.equal(kind === "sync" ? out.awaited : out.sync, 0, name);
  }
});

Deno.test("writeReply() passes on a write's error", async () => {
  const out: Output = {
    writeSync: () => {
      throw new Deno.errors.BrokenPipe("Broken pipe");
    },
    write: () => Promise.reject(new Deno.errors.BrokenPipe("Broken pipe")),
  };
  await assert.rejects(writeReply(new Uint8Array(3), true, out), Deno.errors.BrokenPipe);
  await assert.rejects(writeReply(new Uint8Array(3), false, out), Deno.errors.BrokenPipe);
});

/** Runs `code` in a Deno process of its own, stdout piped. */
function child(code: string): Deno.ChildProcess {
  const module = JSON.stringify(import.meta.resolve("./stdout.ts"));
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", `import { writeReply } from ${module};\n${code}`],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
}

Deno.test("writeReply() of a reply that outgrows a pipe nobody reads leaves the child able to take SIGTERM", async () => {
  // As in sudo mode: the launcher stopped reading, and its SIGTERM must still reach the listener
  // that kills the host command. A write from the child's own thread would hang here.
  const process = child(
    `Deno.addSignalListener("SIGTERM", () => Deno.exit(143));
     void writeReply(new Uint8Array(300_000).fill(120), true);
     setTimeout(() => {}, 60_000);`,
  );
  await new Promise((resolve) => setTimeout(resolve, 1500));
  process.kill("SIGTERM");
  const timer = setTimeout(() => process.kill("SIGKILL"), 5000);
  const status = await process.status;
  clearTimeout(timer);
  await process.stdout.cancel();
  assert.equal(status.code, 143, "the child did not handle SIGTERM while its reply waited");
});
