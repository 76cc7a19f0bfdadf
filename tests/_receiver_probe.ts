/**
 * Started under the receiver's exact flags (only the entry swapped): tries what the receiver
 * must not do, and what it must, and prints the outcomes as one JSON object.
 */
const stateDir = Deno.args[0]!;
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

await attempt("fetch http://127.0.0.1:9999/", () => fetch("http://127.0.0.1:9999/"));
await attempt("connect 1.1.1.1:443", () => Deno.connect({ hostname: "1.1.1.1", port: 443 }));
await attempt("read /etc/passwd", () => Deno.readTextFile("/etc/passwd"));
await attempt("write /tmp/x", () => Deno.writeTextFile("/tmp/x", "x"));
await attempt("env HOME", () => Deno.env.get("HOME"));
await attempt("run /bin/sh", () => new Deno.Command("/bin/sh").outputSync());
await attempt("write state dir", () => Deno.writeTextFile(`${stateDir}/probe`, "x"));
await attempt(
  "listen 127.0.0.1:58788",
  () => Deno.listen({ hostname: "127.0.0.1", port: 58788 }).close(),
);
console.log(JSON.stringify(results));
