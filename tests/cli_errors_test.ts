/**
 * Every user error of every task, run as the user runs it (`deno task ...` in a subprocess): one
 * line that says what is wrong and what to do, a documented exit code, never a stack trace.
 */
import assert from "node:assert/strict";
import { EXIT } from "../runtime/cli/usage.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);

async function task(args: string[]): Promise<{ code: number; err: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", ...args],
    cwd: root,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: output.code, err: new TextDecoder().decode(output.stderr).trim() };
}

function assertNoTrace(err: string, name: string): void {
  assert.doesNotMatch(err, /^\s+at |Uncaught|Stack backtrace/m, `${name} printed a trace:\n${err}`);
}

Deno.test("each missing or unreachable thing a task needs is one line and exit 3", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-cli-errors-" });
  try {
    const secret = `${dir}/secret`;
    await Deno.writeTextFile(secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
    await Deno.writeTextFile(`${dir}/taken.json`, "{}");
    const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (free.addr as Deno.NetAddr).port;
    free.close();
    const cases: [string, string[], RegExp][] = [
      [
        "send to a receiver that is not running",
        ["send", "sensors", "--url", `http://127.0.0.1:${port}`, "--key-file", secret],
        /^rootfence: Cannot reach the receiver at http:\/\/127\.0\.0\.1:\d+: .*deno task start/,
      ],
      [
        "send jobs to a receiver that is not running",
        ["send", "jobs", "--url", `http://127.0.0.1:${port}`, "--key-file", secret],
        /^rootfence: Cannot reach the receiver at http:\/\/127\.0\.0\.1:\d+: .*deno task start/,
      ],
      [
        "send with a key file that does not exist",
        ["send", "sensors", "--key-file", `${dir}/none.json`],
        /^rootfence: Cannot read the key file ".*none\.json": it does not exist; .*--key-file$/,
      ],
      [
        "send with a key file that holds no secret",
        ["send", "sensors", "--key-file", `${dir}/taken.json`],
        /^rootfence: Cannot read the key file .*: it holds neither a whsec_ secret nor a keys file$/,
      ],
      [
        "keygen into a folder that does not exist",
        ["keygen", "--keys-file", `${dir}/no/keys.json`],
        /^rootfence: Cannot create ".*": there is no folder ".*\/no"; create it first$/,
      ],
      [
        "keygen onto a file that exists",
        ["keygen", "--keys-file", `${dir}/taken.json`],
        /^rootfence: Cannot create ".*taken\.json": it already exists; /,
      ],
      [
        "keygen editing a keys file that does not exist",
        ["keygen", "--keys-file", `${dir}/none.json`, "--rotate", "default"],
        /^rootfence: Cannot edit ".*none\.json": it does not exist; create it with .*keygen/,
      ],
      [
        "report of a file that does not exist",
        ["report", "smart", `${dir}/capture.json`],
        /^rootfence: Cannot read ".*capture\.json": no such file; /,
      ],
    ];
    const problems: string[] = [];
    for (const [name, args, line] of cases) {
      const { code, err } = await task(args);
      assertNoTrace(err, name);
      if (code !== EXIT.need) problems.push(`${name}: exit ${code}`);
      if (err.split("\n").length !== 1 || !line.test(err)) problems.push(`${name}: ${err}`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a garbage journal fails the start in plain lines, exit 1, no trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-cli-journal-" });
  try {
    await Deno.chmod(dir, 0o700);
    await Deno.writeFile(`${dir}/journal.db`, crypto.getRandomValues(new Uint8Array(8192)), {
      mode: 0o600,
    });
    const { code, err } = await task([
      "start",
      "--state-dir",
      dir,
      "--port",
      "0",
      "--listener-user",
      "root",
    ]);
    assertNoTrace(err, "start");
    assert.equal(code, 1);
    assert.match(
      err,
      /^rootfence: Cannot open the journal ".*journal\.db": file is not a database$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
