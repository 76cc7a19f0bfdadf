import assert from "node:assert/strict";
import { serverDefaults } from "./config.ts";
import { decodeListenerArgs, encodeListenerArgs } from "./listener_args.ts";
import { buildListenerCommand } from "./receiver_commands.ts";

const config = { ...serverDefaults("/var/lib/rootfence"), host: "::1", port: 0 };

Deno.test("decodeListenerArgs() reads back every value buildListenerCommand() passes", () => {
  for (const stopWithStdin of [false, true]) {
    const command = buildListenerCommand({
      config,
      denoPath: "/opt/deno/deno",
      entryPath: "/opt/rf/dist/listener.js",
      stopWithStdin,
    });
    const argv = command.args.slice(command.denoFlags.length + 1);
    const args = decodeListenerArgs(argv);
    assert.deepEqual(args, {
      host: "::1",
      port: 0,
      socket: config.socket,
      maxConnections: config.maxConnections,
      headerTimeoutMs: config.headerTimeoutMs,
      bodyTimeoutMs: config.bodyTimeoutMs,
      stopWithStdin,
    });
    assert.deepEqual(encodeListenerArgs(args), argv);
  }
});

Deno.test("decodeListenerArgs() refuses arguments no starter passes", () => {
  const argv = encodeListenerArgs({
    host: "127.0.0.1",
    port: 8787,
    socket: "/run/rootfence/executor.sock",
    maxConnections: 1024,
    headerTimeoutMs: 10_000,
    bodyTimeoutMs: 10_000,
    stopWithStdin: false,
  });
  const replaced = (flag: string, value: string) =>
    argv.map((a) => a.startsWith(`--${flag}=`) ? `--${flag}=${value}` : a);
  const cases: [string[], ErrorConstructor][] = [
    [replaced("port", "65536"), RangeError],
    [replaced("port", "80x"), RangeError],
    [replaced("host", "a b"), RangeError],
    [replaced("socket", "relative.sock"), RangeError],
    [replaced("header-timeout-ms", "99"), RangeError],
    [argv.filter((a) => !a.startsWith("--socket=")), RangeError],
    [[...argv, "--allow-read"], TypeError],
  ];
  for (const [bad, type] of cases) assert.throws(() => decodeListenerArgs(bad), type);
});
