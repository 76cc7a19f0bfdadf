import assert from "node:assert/strict";
import { type ServerConfig, serverDefaults } from "./config.ts";
import {
  buildExecutorCommand,
  buildListenerCommand,
  type ExecutorCommandOptions,
} from "./receiver_commands.ts";

const config: ServerConfig = {
  ...serverDefaults("/var/lib/rootfence"),
  binPath: "/usr/sbin:/usr/bin",
};
const options: ExecutorCommandOptions = {
  config,
  denoPath: "/opt/deno/deno",
  configPath: "/opt/rf/deno.json",
  lockPath: "/opt/rf/deno.lock",
  entryPath: "/opt/rf/runtime/server/executor.ts",
  killPath: "/usr/bin/kill",
  binaries: { smartctl: "/usr/sbin/smartctl" },
  denoDir: "/var/cache/deno",
  readFiles: ["/var/lib/rootfence/keys.json", "/run/credentials/rootfence/monitoring"],
};

Deno.test("buildExecutorCommand() grants its socket, its state and Deno, and no IP network", () => {
  const command = buildExecutorCommand(options);
  assert.deepEqual(command.denoFlags, [
    "run",
    "--no-prompt",
    "--no-remote",
    "--frozen",
    "--config=/opt/rf/deno.json",
    "--lock=/opt/rf/deno.lock",
    "--v8-flags=--max-old-space-size=128,--max-semi-space-size=4",
    "--allow-net=unix:/var/lib/rootfence/executor.sock",
    "--allow-read=/var/lib/rootfence,/opt/rf/runtime/server/journal_checkpoint_worker.ts,/run/credentials/rootfence/monitoring",
    "--allow-write=/var/lib/rootfence",
    "--allow-run=/opt/deno/deno,/usr/bin/kill",
    "--allow-sys=uid,osUptime",
  ]);
  assert.ok(!command.args.some((a) => /^--allow-(env|sys(?!=uid,osUptime$)|ffi|all)|^-A$/.test(a)));
  assert.equal(command.args[command.denoFlags.length], "/opt/rf/runtime/server/executor.ts");
  assert.ok(command.args.includes("--bin=smartctl=/usr/sbin/smartctl"));
  assert.ok(command.args.includes("--socket=/var/lib/rootfence/executor.sock"));
  assert.deepEqual(command.env, {
    DENO_DIR: "/var/cache/deno",
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
  });
});

Deno.test("buildExecutorCommand() in sudo mode may run sudo and kill, not Deno", () => {
  const command = buildExecutorCommand({ ...options, config: { ...config, runner: "sudo" } });
  assert.ok(command.denoFlags.includes("--allow-run=/usr/bin/sudo,/usr/bin/kill"));
});

Deno.test("buildExecutorCommand() grants a socket outside the state dir by its path only", () => {
  const command = buildExecutorCommand({
    ...options,
    config: { ...config, socket: "/run/rootfence/executor.sock" },
    socketGroup: 997,
  });
  assert.ok(command.denoFlags.includes("--allow-net=unix:/run/rootfence/executor.sock"));
  assert.ok(
    command.denoFlags.includes("--allow-write=/var/lib/rootfence,/run/rootfence/executor.sock"),
  );
  assert.ok(command.args.includes("--socket-group=997"));
});

Deno.test("buildListenerCommand() grants its listen address and socket, and nothing that runs", () => {
  const command = buildListenerCommand({
    config,
    denoPath: "/opt/deno/deno",
    entryPath: "/opt/rf/dist/listener.js",
  });
  assert.deepEqual(command.denoFlags, [
    "run",
    "--no-prompt",
    "--no-remote",
    "--no-npm",
    "--no-config",
    "--no-lock",
    "--no-code-cache",
    "--v8-flags=--max-old-space-size=64,--max-semi-space-size=4",
    "--allow-net=127.0.0.1:8787,unix:/var/lib/rootfence/executor.sock",
    "--allow-read=/var/lib/rootfence/executor.sock",
    "--allow-write=/var/lib/rootfence/executor.sock",
  ]);
  assert.equal(command.args[command.denoFlags.length], "/opt/rf/dist/listener.js");
  assert.equal(command.env.DENO_DIR, "/dev/null/deno");
});

Deno.test("buildListenerCommand() brackets an IPv6 listen address", () => {
  const command = buildListenerCommand({
    config: { ...config, host: "::1" },
    denoPath: "/opt/deno/deno",
    entryPath: "/opt/rf/dist/listener.js",
  });
  assert.ok(command.denoFlags.some((f) => f.startsWith("--allow-net=[::1]:8787,unix:")));
});

Deno.test("buildListenerCommand() grants a Unix socket, a TLS pair or an inherited socket only what each needs", () => {
  const grants = (command: { denoFlags: readonly string[] }) =>
    command.denoFlags.filter((f) => f.startsWith("--allow"));
  const build = (changes: Partial<ServerConfig>, listenFd?: number) =>
    buildListenerCommand({
      config: { ...config, ...changes },
      denoPath: "/opt/deno/deno",
      entryPath: "/opt/rf/dist/listener.js",
      ...(listenFd === undefined ? {} : { listenFd }),
    });
  const executor = "/var/lib/rootfence/executor.sock";
  // A Unix socket: its path instead of an address; uid to remove only its own stale socket.
  const unix = build({ listenPath: "/run/rootfence-http/listener.sock" });
  assert.deepEqual(grants(unix), [
    `--allow-net=unix:/run/rootfence-http/listener.sock,unix:${executor}`,
    `--allow-read=${executor},/run/rootfence-http/listener.sock`,
    `--allow-write=${executor},/run/rootfence-http/listener.sock`,
    "--allow-sys=uid",
  ]);
  assert.ok(unix.args.includes("--listen-path=/run/rootfence-http/listener.sock"));
  assert.ok(!unix.args.some((a) => /^--(host|port)=/.test(a)));
  // TLS: read for the two files, and nothing to write; uid to check who owns the key.
  const tls = build({ cert: "/etc/rootfence/tls.pem", key: "/etc/rootfence/tls.key" });
  assert.deepEqual(grants(tls), [
    `--allow-net=127.0.0.1:8787,unix:${executor}`,
    `--allow-read=${executor},/etc/rootfence/tls.pem,/etc/rootfence/tls.key`,
    `--allow-write=${executor}`,
    "--allow-sys=uid",
  ]);
  // Socket activation: no grant to listen anywhere; the socket comes from systemd.
  const activated = build({ listenPath: "/run/rootfence-http/listener.sock" }, 3);
  assert.deepEqual(grants(activated), [
    `--allow-net=unix:${executor}`,
    `--allow-read=${executor}`,
    `--allow-write=${executor}`,
  ]);
  assert.ok(activated.args.includes("--listen-fd=3"));
});
