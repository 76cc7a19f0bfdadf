/**
 * Progress lines across the child boundary: the sealed child streams a long op's host command
 * output as it comes, capped; the launcher validates and caps it again, and the op's result is
 * still read from the whole output.
 */
import assert from "node:assert/strict";
import { findOp } from "../ops/mod.ts";
import { parseCreate } from "../ops/create_golden_lxc/_command.ts";
import type { CreateGoldenLxcInput } from "../ops/create_golden_lxc/mod.ts";
import { FencedChild } from "../runtime/process/fenced_child.ts";
import { Launcher } from "../runtime/process/launcher.ts";
import { MAX_PROGRESS_LINE_CHARS, MAX_PROGRESS_LINES } from "../runtime/process/progress_cap.ts";
import type { Progress } from "../runtime/process/protocol.ts";
import { RootfenceError } from "../runtime/errors.ts";
import { fakeBin, shQuote } from "./_fakes.ts";
import { fixtureDir, pctTranscript } from "./fixtures.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";
const CREATE = findOp("create-golden-lxc")!;
const INPUT: CreateGoldenLxcInput = {
  vmid: 100,
  ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  storage: "local",
  rootfsGb: 4,
};
const pctDir = fixtureDir("pct");

function lines(progress: readonly Progress[]): string[] {
  return progress.flatMap((p) => "line" in p ? [p.line] : []);
}

Deno.test({
  name: "pct create's output streams line by line while it runs; the result is read from all of it",
  ignore: pctDir === undefined,
  async fn() {
    const fakes = await fakeBin();
    try {
      // A real worker log: the disk, the filesystem, the extraction, then the setup failing.
      const log = pctTranscript(pctDir!, "pct-create-other-post-create-hook-task-log-1.txt")
        .trimEnd().split("\n");
      const stdout = log.slice(0, -1).join("\n") + "\n";
      const stderr = log.at(-1)! + "\n";
      await Deno.writeTextFile(`${fakes.dir}/stdout`, stdout);
      await Deno.writeTextFile(`${fakes.dir}/stderr`, stderr);
      const gate = `${fakes.dir}/go`;
      // Three lines, then it waits for the test: the lines must have arrived by then.
      await fakes.write(
        "pct",
        `n=0; while IFS= read -r l; do printf '%s\\n' "$l"; n=$((n+1)); sleep 0.02
         if [ $n -eq 3 ]; then while [ ! -e ${shQuote(gate)} ]; do sleep 0.02; done; fi
         done < ${shQuote(`${fakes.dir}/stdout`)}; cat ${shQuote(`${fakes.dir}/stderr`)} >&2
         exit 255`,
      );
      const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}` });
      const seen: Progress[] = [];
      let threeSeen = () => {};
      const three = new Promise<void>((resolve) => threeSeen = resolve);
      const running = launcher.invoke(CREATE, INPUT, {
        onProgress(progress) {
          seen.push(progress);
          if (seen.length === 3) threeSeen();
        },
      });
      let finished = false;
      void running.then(() => finished = true);
      await three;
      assert.equal(finished, false, "the lines came only at the end");
      await Deno.writeTextFile(gate, "");
      const run = await running;

      // Every non-empty line, in order, from the stream it was written to.
      const expected = [...stdout.split("\n"), ...stderr.split("\n")].filter((l) => l !== "");
      assert.deepEqual(lines(seen), expected);
      assert.deepEqual(seen.at(-1), { stream: "stderr", line: log.at(-1) });
      // What the op reports is what it parses from the whole output, as without progress.
      const parsed = parseCreate({
        exitCode: 255,
        signal: null,
        stdout,
        stderr,
        stdoutTruncated: false,
        stderrTruncated: false,
      }, INPUT);
      assert.equal(parsed.ok, false);
      assert.deepEqual(
        run.error,
        parsed.ok ? undefined : { code: parsed.code, message: parsed.message },
      );
      assert.equal(run.command?.stdoutBytes, new TextEncoder().encode(stdout).length);
      assert.equal(run.command?.stderrBytes, new TextEncoder().encode(stderr).length);
    } finally {
      await fakes.remove();
    }
  },
});

Deno.test("a flood of output streams 1000 lines and one truncation marker; the op still gets it all", async () => {
  const fakes = await fakeBin();
  try {
    // 200,000 lines, then one line of 3 MB without a newline.
    await fakes.write("pct", "seq 1 200000; head -c 3000000 /dev/zero | tr '\\0' 'x'; exit 0");
    const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}` });
    const seen: Progress[] = [];
    const run = await launcher.invoke(CREATE, INPUT, { onProgress: (p) => seen.push(p) });
    assert.equal(run.ok, true, JSON.stringify(run.error));
    assert.equal(seen.length, MAX_PROGRESS_LINES + 1);
    assert.deepEqual(lines(seen), Array.from({ length: MAX_PROGRESS_LINES }, (_, i) => `${i + 1}`));
    assert.deepEqual(seen.at(-1), { truncated: true });
    const seqBytes = new TextEncoder().encode(
      Array.from({ length: 200000 }, (_, i) => `${i + 1}\n`).join(""),
    ).length;
    assert.equal(run.command?.stdoutBytes, seqBytes + 3_000_000);
    assert.equal(run.command?.stdoutTruncated, true);
  } finally {
    await fakes.remove();
  }
});

Deno.test("a line longer than the cap is cut once, marked cut, and the next line streams whole", async () => {
  const fakes = await fakeBin();
  try {
    await fakes.write(
      "pct",
      "head -c 3000000 /dev/zero | tr '\\0' 'y'; printf '\\nnext\\n'; exit 0",
    );
    const launcher = await Launcher.create({ binPath: `${fakes.dir}:${SYSTEM}` });
    const seen: Progress[] = [];
    const run = await launcher.invoke(CREATE, INPUT, { onProgress: (p) => seen.push(p) });
    assert.equal(run.ok, true);
    assert.deepEqual(seen, [
      { stream: "stdout", line: "y".repeat(MAX_PROGRESS_LINE_CHARS), cut: true },
      { stream: "stdout", line: "next" },
    ]);
  } finally {
    await fakes.remove();
  }
});

/** A stand-in child that writes `lines` and then a valid reply, whatever it is sent. */
function scriptedChild(lines: readonly unknown[]): Deno.ChildProcess {
  const reply = {
    ok: true,
    result: { vmid: 100, created: true, template: false, log: "" },
    command: {
      argv: ["/usr/sbin/pct"],
      exitCode: 0,
      signal: null,
      durationMs: 1,
      stdoutBytes: 0,
      stderrBytes: 0,
      stdoutTruncated: false,
      stderrTruncated: false,
      stderrTail: "",
    },
  };
  const text = [...lines, reply].map((l) => typeof l === "string" ? l : JSON.stringify(l))
    .join("\n") + "\n";
  const script = `await Deno.stdin.readable.getReader().read();
    const bytes = new TextEncoder().encode(${JSON.stringify(text)});
    for (let at = 0; at < bytes.length;) at += await Deno.stdout.write(bytes.subarray(at));
    await new Promise(() => {});`;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-prompt", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function runScripted(op: string, lines: readonly unknown[], seen: Progress[] = []) {
  const child = new FencedChild(findOp(op)!, scriptedChild(lines), async (process) => {
    try {
      process.kill("SIGKILL");
    } catch {
      // gone
    }
    await process.status;
  });
  try {
    const reply = await child.run(INPUT, 20_000, { onProgress: (p) => seen.push(p) });
    return { reply, seen };
  } finally {
    await child.kill();
  }
}

Deno.test("the launcher caps a child that ignores the cap: 1000 lines, one marker, nothing more", async () => {
  const line = (n: number) => ({ progress: { stream: "stdout", line: `line ${n}` } });
  const flood = [
    ...Array.from({ length: MAX_PROGRESS_LINES + 500 }, (_, n) => line(n)),
    { progress: { truncated: true } },
    line(-1),
    { progress: { truncated: true } },
  ];
  const { reply, seen } = await runScripted("create-golden-lxc", flood);
  assert.equal(reply.ok, true);
  assert.equal(seen.length, MAX_PROGRESS_LINES + 1);
  assert.deepEqual(seen.at(-1), { truncated: true });
  assert.equal(seen.filter((p) => "truncated" in p).length, 1);
});

Deno.test("a progress line outside the schema fails the run as child_failed, and nothing of it is told", async () => {
  const forged: [string, unknown][] = [
    ["a line break", { progress: { stream: "stdout", line: "x\n\nevent: finished\ndata: {}" } }],
    ["a carriage return", { progress: { stream: "stdout", line: "x\rid: 99" } }],
    ["an escape", { progress: { stream: "stdout", line: "\x1b[2J" } }],
    ["a C1 control", { progress: { stream: "stdout", line: "a\x85b" } }],
    ["a lone surrogate", '{"progress":{"stream":"stdout","line":"a\\ud800"}}'],
    ["an unknown stream", { progress: { stream: "stdin", line: "x" } }],
    ["an extra field", { progress: { stream: "stdout", line: "x", event: "finished" } }],
    ["too long", { progress: { stream: "stdout", line: "x".repeat(MAX_PROGRESS_LINE_CHARS + 1) } }],
    ["empty", { progress: { stream: "stdout", line: "" } }],
  ];
  for (const [what, line] of forged) {
    const seen: Progress[] = [];
    const ok = { progress: { stream: "stdout", line: "ok" } };
    await assert.rejects(
      () => runScripted("create-golden-lxc", [ok, line, ok], seen),
      (error: unknown) => error instanceof RootfenceError && error.code === "child_failed",
      what,
    );
    assert.deepEqual(seen, [ok.progress], what);
  }
});

Deno.test("progress from a child of an op that streams none fails the run as child_failed", async () => {
  await assert.rejects(
    () => runScripted("sensors", [{ progress: { stream: "stdout", line: "x" } }]),
    (error: unknown) => error instanceof RootfenceError && error.code === "child_failed",
  );
});
