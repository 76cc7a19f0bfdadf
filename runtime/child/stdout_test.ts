import assert from "node:assert/strict";
import { type SyncWriter, writeWhole } from "./stdout.ts";

/** An output that takes `syncTakes` bytes per sync write, then would block; async takes 3. */
function stubbornOutput(syncTakes: number[]): SyncWriter & { got: number[]; asyncWrites: number } {
  const out = {
    got: [] as number[],
    asyncWrites: 0,
    writeSync(bytes: Uint8Array): number {
      const n = syncTakes.shift();
      if (n === undefined) throw new Deno.errors.WouldBlock("Resource temporarily unavailable");
      out.got.push(...bytes.subarray(0, n));
      return Math.min(n, bytes.length);
    },
    write(bytes: Uint8Array): Promise<number> {
      out.asyncWrites++;
      out.got.push(...bytes.subarray(0, 3));
      return Promise.resolve(Math.min(3, bytes.length));
    },
  };
  return out;
}

Deno.test("writeWhole() finishes through the awaited write when the output would block", async () => {
  const bytes = Uint8Array.from({ length: 20 }, (_, i) => i);
  const out = stubbornOutput([4, 5]);
  await writeWhole(bytes, out);
  assert.deepEqual(out.got, [...bytes]);
  assert.equal(out.asyncWrites, 4);
});

Deno.test("writeWhole() never touches the awaited write while the output takes bytes", async () => {
  const out = stubbornOutput([7, 7, 7]);
  await writeWhole(new Uint8Array(21), out);
  assert.equal(out.asyncWrites, 0);
});

Deno.test("writeWhole() passes on errors other than a would-block", async () => {
  const out: SyncWriter = {
    writeSync: () => {
      throw new Deno.errors.BrokenPipe("Broken pipe");
    },
    write: () => Promise.reject(new Error("must not be used")),
  };
  await assert.rejects(writeWhole(new Uint8Array(3), out), Deno.errors.BrokenPipe);
});

Deno.test("writeWhole() has written a whole reply to a real pipe by the time it returns", async () => {
  // A process that exits right after the call, without awaiting it: an awaited write handed to
  // another thread would still be on its way. 300 KB outgrows the pipe, so it also waits for the
  // reader between writes.
  const code = `import { writeWhole } from ${JSON.stringify(import.meta.resolve("./stdout.ts"))};
    void writeWhole(new Uint8Array(300_000).fill(120));
    Deno.exit(0);`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.equal(output.stdout.length, 300_000);
  assert.ok(output.stdout.every((b) => b === 120));
});
