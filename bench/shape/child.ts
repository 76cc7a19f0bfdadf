/**
 * The shape's fenced child: started with a run grant on its one binary and nothing else, it
 * takes a line on stdin, runs the binary as rootfence's children do (cleared environment, both
 * streams read) and answers one JSON line. No schema on either side: that is the app's work.
 *
 * Usage: `deno run --allow-run=<binary> child.ts --op=<name> <binary> [args...]`
 *
 * @module
 */
const [, binary, ...args] = Deno.args;
const text = new TextDecoder();
const out = new TextEncoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable) {
  buffered += text.decode(chunk, { stream: true });
  for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
    buffered = buffered.slice(end + 1);
    const run = await new Deno.Command(binary!, {
      args,
      clearEnv: true,
      env: { LC_ALL: "C" },
      stdin: "null",
    }).output();
    const reply = {
      code: run.code,
      stdout: text.decode(run.stdout),
      stderr: text.decode(run.stderr),
    };
    await Deno.stdout.write(out.encode(JSON.stringify(reply) + "\n"));
  }
}
