import assert from "node:assert/strict";
import fc from "fast-check";
import { type Line, LineReader } from "./lines.ts";

/**
 * A stream that hands over `bytes` cut at the given offsets: a byte stream (as sockets and pipes
 * are, read into the reader's own buffer) or one of plain chunks.
 */
function chunked(
  bytes: Uint8Array,
  cuts: readonly number[],
  kind: Kind = "bytes",
): ReadableStream<Uint8Array> {
  const ends = [...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const end of [...ends, bytes.length]) {
    parts.push(bytes.slice(from, end));
    from = end;
  }
  if (kind === "chunks") return ReadableStream.from(parts);
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      const part = parts.shift();
      if (part !== undefined && part.length > 0) return controller.enqueue(part);
      controller.close();
      // A read waiting with its own buffer is answered only by this.
      controller.byobRequest?.respond(0);
    },
  });
}

type Kind = "bytes" | "chunks";
const KINDS: Kind[] = ["bytes", "chunks"];

async function all(reader: LineReader): Promise<Line[]> {
  const lines: Line[] = [];
  for (let next = await reader.next(); next !== undefined; next = await reader.next()) {
    lines.push(next);
  }
  return lines;
}

Deno.test("LineReader reads the same lines however the bytes are cut, multi-byte characters too", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.string({ unit: "grapheme", maxLength: 12 }).map((s) => s.replace(/\n/g, ""))),
      fc.array(fc.nat(400)),
      fc.constantFrom(...KINDS),
      async (lines, cuts, kind) => {
        const bytes = new TextEncoder().encode(lines.map((l) => l + "\n").join(""));
        const read = await all(new LineReader(chunked(bytes, cuts, kind), 1000));
        assert.deepEqual(read, lines.map((line) => ({ line })));
      },
    ),
  );
});

Deno.test("LineReader keeps a byte-order mark wherever the bytes are cut", async () => {
  const bytes = new TextEncoder().encode("\uFEFFa\n\uFEFFb\n");
  for (const kind of KINDS) {
    for (const cut of [0, 3, 4, 5, 6, 7]) {
      const read = await all(new LineReader(chunked(bytes, [cut], kind), 10));
      assert.deepEqual(read, [{ line: "\uFEFFa" }, { line: "\uFEFFb" }], `${kind}, cut at ${cut}`);
    }
  }
});

Deno.test("LineReader refuses a line over the cap that arrives whole in one read", async () => {
  const bytes = new TextEncoder().encode("x".repeat(11) + "\nfits\n" + "y".repeat(10) + "\n");
  for (const kind of KINDS) {
    const read = await all(new LineReader(chunked(bytes, [], kind), 10));
    assert.deepEqual(read, [{ tooLong: true }, { line: "fits" }, { line: "y".repeat(10) }], kind);
  }
});

Deno.test("LineReader drops an oversized line, reads on after it, and decodes bad bytes as U+FFFD", async () => {
  const bytes = new Uint8Array([
    ...new TextEncoder().encode("ok\n" + "x".repeat(50) + "\nafter\n"),
    0xff,
    0x41,
    0x0a,
    // Bytes after the last newline are no line: the writer never finished it.
    0x42,
  ]);
  for (const kind of KINDS) {
    const read = await all(new LineReader(chunked(bytes, [1, 7, 20, 58], kind), 10));
    assert.deepEqual(read, [
      { line: "ok" },
      { tooLong: true },
      { line: "after" },
      { line: "\uFFFDA" },
    ], kind);
  }
});

Deno.test("LineReader reads lines many reads long from a byte stream, and keeps its cap across them", async () => {
  // 100 KiB lines arrive in one chunk; a byte stream hands them over one 16 KiB read at a time.
  const long = "l".repeat(100 * 1024);
  const over = "o".repeat(150 * 1024);
  const bytes = new TextEncoder().encode(`${long}\n${over}\nend\n`);
  const read = await all(new LineReader(chunked(bytes, []), 120 * 1024));
  assert.deepEqual(read, [{ line: long }, { tooLong: true }, { line: "end" }]);
});

Deno.test("LineReader searches a long line sent in small writes a bounded number of times, not once per read", async () => {
  // Searching the whole buffer after every read cost quadratic time: a 196,000-character line
  // in 16-byte reads took 2.3 s. Count the characters searched for a newline instead of timing.
  const line = "z".repeat(64 * 1024);
  const bytes = new TextEncoder().encode(line + "\nend\n");
  const cuts = Array.from({ length: bytes.length >> 4 }, (_, i) => i * 16);
  let searched = 0;
  const { indexOf, includes } = String.prototype;
  String.prototype.indexOf = function (this: string, ...args: Parameters<typeof indexOf>) {
    if (args[0] === "\n") searched += this.length;
    return indexOf.apply(this, args);
  };
  String.prototype.includes = function (this: string, ...args: Parameters<typeof includes>) {
    if (args[0] === "\n") searched += this.length;
    return includes.apply(this, args);
  };
  try {
    const read = await all(new LineReader(chunked(bytes, cuts), 100 * 1024));
    assert.deepEqual(read, [{ line }, { line: "end" }]);
  } finally {
    String.prototype.indexOf = indexOf;
    String.prototype.includes = includes;
  }
  assert.ok(searched < 4 * bytes.length, `${searched} characters searched for ${bytes.length}`);
});

Deno.test("LineReader reads lines straight from a Unix connection, not through its stream", async () => {
  const path = `${await Deno.makeTempDir()}/lines.sock`;
  const server = Deno.listen({ transport: "unix", path });
  const client = await Deno.connect({ transport: "unix", path });
  const conn = await server.accept();
  const lines = new LineReader(conn, 100);
  await client.write(new TextEncoder().encode("one\ntw"));
  assert.deepEqual(await lines.next(), { line: "one" });
  await client.write(new TextEncoder().encode("o\n"));
  assert.deepEqual(await lines.next(), { line: "two" });
  client.close();
  assert.equal(await lines.next(), undefined);
  // Its stream was never made, so nothing holds a reader on it.
  assert.equal(conn.readable.locked, false);
  conn.close();
  server.close();
});

Deno.test("LineReader's cancel ends a read pending on a Unix connection, and closes it", async () => {
  const path = `${await Deno.makeTempDir()}/lines.sock`;
  const server = Deno.listen({ transport: "unix", path });
  const client = await Deno.connect({ transport: "unix", path });
  const conn = await server.accept();
  server.close();
  const lines = new LineReader(conn, 100);
  const pending = lines.next();
  await lines.cancel();
  // As a stream's cancel: the pending read ends, and the connection is closed already.
  assert.equal(await pending, undefined);
  assert.throws(() => conn.close(), Deno.errors.BadResource);
  client.close();
});
