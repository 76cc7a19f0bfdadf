/**
 * The shape's fenced child: started with a run grant on its one binary and nothing else, it
 * takes a line on stdin, runs the binary as rootfence's children do (cleared environment, both
 * streams read) and answers one JSON line. With `--work`, it also does the work a child must:
 * the op's input schema on the line and the op's own parser on the output, which it answers
 * instead of the raw streams; without, no schema on either side.
 *
 * Usage: `deno run --allow-run=<binary> child.ts --op=<name> [--work] <binary> [args...]`
 *
 * @module
 */
import type { AnyOp, OpSettings } from "../../ops/types.ts";

const work = Deno.args[1] === "--work";
const [binary, ...args] = Deno.args.slice(work ? 2 : 1);
// Loaded only for the work: the shape without it carries no schema and no op code.
const { op, settings } = work ? await opOf(Deno.args[0]!.slice("--op=".length)) : {};

async function opOf(name: string): Promise<{ op: AnyOp; settings: OpSettings }> {
  const { findOp, OPS } = await import("../../ops/mod.ts");
  const { resolveSettings } = await import("../../runtime/settings.ts");
  const op = findOp(name);
  if (op === undefined) throw new Error(`no op ${name}`);
  return { op, settings: resolveSettings(OPS) };
}
const text = new TextDecoder();
const out = new TextEncoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable) {
  buffered += text.decode(chunk, { stream: true });
  for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
    const line = buffered.slice(0, end);
    buffered = buffered.slice(end + 1);
    const input = op?.schema(settings!).parse(JSON.parse(line));
    const run = await new Deno.Command(binary!, {
      args,
      clearEnv: true,
      env: { LC_ALL: "C" },
      stdin: "null",
    }).output();
    const stdout = text.decode(run.stdout);
    const stderr = text.decode(run.stderr);
    const reply = op === undefined ? { code: run.code, stdout, stderr } : op.parse({
      stdout,
      stderr,
      exitCode: run.code,
      signal: run.signal,
      stdoutTruncated: false,
      stderrTruncated: false,
    }, input);
    await Deno.stdout.write(out.encode(JSON.stringify(reply) + "\n"));
  }
}
