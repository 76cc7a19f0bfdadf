/**
 * The fence probe: started by tests and the audit under an op's exact child flags (only the
 * entry swapped), it tries everything a fenced child must not do and reports what happened.
 *
 * Reads `{ "input": { "tryRun": [paths], "tryRead": [paths], "tryWrite": [paths],
 * "granted": { "read": [paths], "write": [paths] } } }` on stdin and writes
 * `{ "attempts": [{ "attempt", "allowed", "error" }] }` on stdout. `tryRead` lists a directory,
 * `tryWrite` creates (and removes again) a directory, and `granted` only asks Deno, touching
 * nothing: the op's own paths must be granted.
 *
 * @module
 */

/** One attempt and how it ended. */
export interface ProbeAttempt {
  readonly attempt: string;
  readonly allowed: boolean;
  /** `<ErrorName>: <message>` when refused. */
  readonly error: string;
}

async function attempt(name: string, action: () => unknown): Promise<ProbeAttempt> {
  try {
    await action();
    return { attempt: name, allowed: true, error: "" };
  } catch (error) {
    const e = error as Error;
    return { attempt: name, allowed: false, error: `${e.name}: ${e.message.split("\n")[0]}` };
  }
}

/** What the probe is asked to try besides its fixed list. */
interface ProbeInput {
  readonly tryRun: readonly string[];
  readonly tryRead: readonly string[];
  readonly tryWrite: readonly string[];
  readonly granted: { readonly read: readonly string[]; readonly write: readonly string[] };
}

function grantedCheck(name: "read" | "write", path: string): () => void {
  return () => {
    const state = Deno.permissions.querySync({ name, path }).state;
    if (state !== "granted") throw new Error(`${name} of ${path} is ${state}`);
  };
}

async function probe({ tryRun, tryRead, tryWrite, granted }: ProbeInput) {
  const remote = "https://esm.sh/zod@4.6.7";
  const npmName = ["npm:", "hono", "@4.13.19"].join("");
  const attempts: ProbeAttempt[] = [
    await attempt("fetch http://127.0.0.1:58787/", () => fetch("http://127.0.0.1:58787/")),
    await attempt(
      "Deno.listen 127.0.0.1:0",
      () => Deno.listen({ hostname: "127.0.0.1", port: 0 }).close(),
    ),
    await attempt(
      "Deno.connect 127.0.0.1:9",
      () => Deno.connect({ hostname: "127.0.0.1", port: 9 }),
    ),
    await attempt(`import(${remote})`, () => import(remote)),
    await attempt(`import(computed npm specifier)`, () => import(npmName)),
    await attempt("read /etc/passwd", () => Deno.readTextFile("/etc/passwd")),
    ...await Promise.all(
      tryRead.map((p) =>
        attempt(`read ${p}`, () => Deno.readDir(p)[Symbol.asyncIterator]().next())
      ),
    ),
    await attempt(
      "write /tmp/rootfence-probe",
      () => Deno.writeTextFile("/tmp/rootfence-probe", "x"),
    ),
    ...await Promise.all(
      tryWrite.map((p) =>
        attempt(`write ${p}`, async () => {
          await Deno.mkdir(p);
          await Deno.remove(p);
        })
      ),
    ),
    ...await Promise.all([
      ...granted.read.map((p) => attempt(`granted read ${p}`, grantedCheck("read", p))),
      ...granted.write.map((p) => attempt(`granted write ${p}`, grantedCheck("write", p))),
    ]),
    await attempt("env HOME", () => Deno.env.get("HOME")),
    await attempt("Deno.osRelease()", () => Deno.osRelease()),
    await attempt("Deno.dlopen libc.so.6", () => Deno.dlopen("libc.so.6", {})),
    // SIGCONT to a running init is a no-op even if the grant were there.
    await attempt("Deno.kill 1 SIGCONT", () => Deno.kill(1, "SIGCONT")),
    await attempt(
      "run /bin/sh",
      () => new Deno.Command("/bin/sh", { args: ["-c", "true"] }).output(),
    ),
  ];
  for (const path of tryRun) {
    attempts.push(
      await attempt(
        `run ${path}`,
        () =>
          new Deno.Command(path, {
            args: ["--version"],
            clearEnv: true,
            stdout: "null",
            stderr: "null",
          })
            .output(),
      ),
    );
  }
  return { attempts };
}

if (import.meta.main) {
  const request = JSON.parse(await new Response(Deno.stdin.readable).text());
  const { tryRun = [], tryRead = [], tryWrite = [], granted = {} } = request.input ?? {};
  const { read = [], write = [] } = granted;
  console.log(JSON.stringify(await probe({ tryRun, tryRead, tryWrite, granted: { read, write } })));
  Deno.exit(0);
}
