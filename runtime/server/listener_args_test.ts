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
    // One place to listen, and a whole TLS pair on TCP only.
    [argv.filter((a) => !a.startsWith("--port=")), RangeError],
    [[...argv, "--listen-path=/run/x.sock"], RangeError],
    [[...argv, "--listen-fd=3"], RangeError],
    [[...argv.filter((a) => !/^--(host|port)=/.test(a)), "--listen-fd=2"], RangeError],
    [[...argv, "--cert=/etc/rf/tls.pem"], RangeError],
    [[...argv, "--cert=/etc/rf/tls.pem", "--key=/etc/rf/a,b.key"], RangeError],
    [
      [
        ...argv.filter((a) => !/^--(host|port)=/.test(a)),
        "--listen-path=/run/x.sock",
        "--cert=/etc/rf/tls.pem",
        "--key=/etc/rf/tls.key",
      ],
      RangeError,
    ],
  ];
  for (const [bad, type] of cases) assert.throws(() => decodeListenerArgs(bad), type);
});

Deno.test("decodeListenerArgs() reads back a Unix socket, an inherited socket and a TLS pair", () => {
  const unix = { ...config, listenPath: "/run/rootfence-http/listener.sock" };
  const tls = { ...config, cert: "/etc/rf/tls.pem", key: "/etc/rf/tls.key" };
  const cases = [
    [unix, undefined, { listenPath: unix.listenPath }],
    [unix, 3, { listenFd: 3 }],
    [tls, undefined, { host: "::1", port: 0, cert: tls.cert, key: tls.key }],
    [tls, 3, { listenFd: 3, cert: tls.cert, key: tls.key }],
  ] as const;
  for (const [given, listenFd, where] of cases) {
    const command = buildListenerCommand({
      config: given,
      denoPath: "/opt/deno/deno",
      entryPath: "/opt/rf/dist/listener.js",
      ...(listenFd === undefined ? {} : { listenFd }),
    });
    const argv = command.args.slice(command.denoFlags.length + 1);
    const args = decodeListenerArgs(argv);
    assert.deepEqual(args, {
      ...where,
      socket: config.socket,
      maxConnections: config.maxConnections,
      headerTimeoutMs: config.headerTimeoutMs,
      bodyTimeoutMs: config.bodyTimeoutMs,
      stopWithStdin: false,
    });
    assert.deepEqual(encodeListenerArgs(args), argv);
  }
});
