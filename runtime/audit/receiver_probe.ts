/**
 * The receiver probe: started under the listener's or the executor's exact flags (only the
 * entry swapped), it tries what that process must not do, and what it must, and prints the
 * outcomes as one JSON object. It imports nothing, so it runs under the listener's sealed flags.
 *
 * Arguments: the state dir, the Deno binary, the executor's socket and the listen port.
 *
 * @module
 */
const [stateDir, denoPath, socket, port] = Deno.args as [string, string, string, string];
const results: Record<string, string> = {};

async function attempt(name: string, action: () => unknown): Promise<void> {
  try {
    await action();
    results[name] = "allowed";
  } catch (error) {
    const e = error as Error;
    results[name] = `${e.name}: ${e.message.split("\n")[0]}`;
  }
}

// The attack on the old receiver: a run grant for Deno is a run grant for `deno eval -A`.
await attempt("run deno eval -A", () => {
  const output = new Deno.Command(denoPath, {
    args: ["eval", "-A", "Deno.readTextFileSync('/etc/shadow')"],
    stdout: "null",
    stderr: "null",
  }).outputSync();
  if (output.code !== 0) throw new Error(`exit ${output.code}`);
});
await attempt("run /bin/sh", () => new Deno.Command("/bin/sh").outputSync());
await attempt("fetch http://127.0.0.1:9999/", () => fetch("http://127.0.0.1:9999/"));
await attempt("connect 1.1.1.1:443", () => Deno.connect({ hostname: "1.1.1.1", port: 443 }));
await attempt("read /etc/passwd", () => Deno.readTextFile("/etc/passwd"));
await attempt("write /tmp/x", () => Deno.writeTextFile("/tmp/x", "x"));
await attempt("env HOME", () => Deno.env.get("HOME"));
await attempt("write state dir", () => Deno.writeTextFile(`${stateDir}/probe`, "x"));
await attempt("read state dir", () => Deno.readDir(stateDir)[Symbol.asyncIterator]().next());
await attempt(
  "listen port",
  () => Deno.listen({ hostname: "127.0.0.1", port: Number(port) }).close(),
);
await attempt("listen unix socket", () => {
  Deno.listen({ transport: "unix", path: socket }).close();
});
console.log(JSON.stringify(results));
