/**
 * The real listener (`dist/listener.js`, node:http) alone, in front of whatever serves `socket`:
 * for tests of what the listener itself answers and relays.
 */
import { LISTENER } from "../runtime/paths.ts";
import { encodeListenerArgs } from "../runtime/server/listener_args.ts";

/** A running listener: its base URL, and how to end it. */
export interface SpawnedListener {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts the bundled listener on a free port, forwarding to `socket`. */
export async function spawnListener(socket: string): Promise<SpawnedListener> {
  const listener = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      LISTENER.bundle,
      ...encodeListenerArgs({
        host: "127.0.0.1",
        port: 0,
        socket,
        maxConnections: 64,
        headerTimeoutMs: 5000,
        bodyTimeoutMs: 5000,
        stopWithStdin: false,
      }),
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = listener.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await lines.read();
    // A listener that exits before its first line would otherwise be read forever.
    if (done) {
      throw new Error(
        `the listener exited before listening (exit ${(await listener.status).code})`,
      );
    }
    first += value;
  }
  const { port } = JSON.parse(first.split("\n")[0]!);
  const draining = (async () => {
    while (!(await lines.read()).done);
  })();
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      listener.kill("SIGKILL");
      await listener.status;
      await draining;
    },
  };
}
