/** Every CLI entry, in process: `--help` prints its usage, a usage error is one line and exit 2. */
import assert from "node:assert/strict";
import { main as bench } from "../bench/main.ts";
import { main as audit } from "../runtime/audit/cli.ts";
import { main as op } from "../runtime/cli/op.ts";
import { main as deploy } from "../runtime/deploy/cli.ts";
import { main as report } from "../runtime/cli/report.ts";
import { main as send } from "../runtime/cli/send.ts";
import { denoTask } from "../runtime/cli/usage.ts";
import { main as start } from "../runtime/server/start.ts";

type Main = (args: string[]) => Promise<number>;

/** Runs `main` with console output captured. */
async function run(
  main: Main,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => out.push(parts.join(" "));
  console.error = (...parts: unknown[]) => err.push(parts.join(" "));
  try {
    return { code: await main(args), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const ENTRIES: [string, Main, string[], string[]][] = [
  ["deno task op smart", op, ["smart", "--help"], ["smart", "--bogus"]],
  ["deno task send", send, ["--help"], ["sensors", "--wait", "soon"]],
  ["deno task report", report, ["--help"], ["disk", "capture.json"]],
  ["deno task audit", audit, ["--help"], ["--install", "/opt/rf"]],
  ["deno task sudoers", deploy, ["sudoers", "--help"], ["sudoers", "--bogus"]],
  ["deno task systemd", deploy, ["systemd", "--help"], ["systemd", "--mode", "root"]],
  ["deno task keygen", deploy, ["keygen", "--help"], ["keygen"]],
  ["deno task start", start, ["--help"], ["--bogus"]],
  ["deno task bench", bench, ["--help"], ["--bogus"]],
];

Deno.test("every CLI entry prints its usage for --help and exits 0", async () => {
  for (const [command, main, help] of ENTRIES) {
    const result = await run(main, help);
    assert.equal(result.code, 0, command);
    assert.match(result.out, /Usage/, command);
    assert.equal(result.err, "", command);
  }
});

Deno.test("every CLI entry reports a usage error in one line, then where the help is, exit 2", async () => {
  for (const [command, main, , wrong] of ENTRIES) {
    const result = await run(main, wrong);
    assert.equal(result.code, 2, command);
    const lines = result.err.split("\n");
    assert.equal(lines.length, 2, `${command}: ${result.err}`);
    assert.notEqual(lines[0], "", command);
    assert.equal(lines[1], `See: ${command.replace("deno task", denoTask())} --help`, command);
  }
});
