import assert from "node:assert/strict";
import { type ServerConfig, serverDefaults } from "./config.ts";
import { buildReceiverCommand, type ReceiverCommandOptions } from "./receiver_flags.ts";

const config: ServerConfig = {
  ...serverDefaults("/var/lib/rootfence"),
  binPath: "/usr/sbin:/usr/bin",
};
const options: ReceiverCommandOptions = {
  config,
  denoPath: "/opt/deno/deno",
  configPath: "/opt/rf/deno.json",
  lockPath: "/opt/rf/deno.lock",
  entryPath: "/opt/rf/runtime/server/main.ts",
  killPath: "/usr/bin/kill",
  binaries: { smartctl: "/usr/sbin/smartctl" },
  denoDir: "/var/cache/deno",
  readFiles: ["/var/lib/rootfence/keys.json", "/run/credentials/rootfence/monitoring"],
};

Deno.test("buildReceiverCommand() grants exactly the listen address, the state dir and Deno", () => {
  const command = buildReceiverCommand(options);
  assert.deepEqual(command.denoFlags, [
    "run",
    "--no-prompt",
    "--no-remote",
    "--frozen",
    "--config=/opt/rf/deno.json",
    "--lock=/opt/rf/deno.lock",
    "--v8-flags=--max-old-space-size=128,--max-semi-space-size=4",
    "--allow-net=127.0.0.1:8787",
    "--allow-read=/var/lib/rootfence,/run/credentials/rootfence/monitoring",
    "--allow-write=/var/lib/rootfence",
    "--allow-run=/opt/deno/deno,/usr/bin/kill",
  ]);
  assert.ok(!command.args.some((a) => /^--allow-(env|sys|ffi|all)|^-A$/.test(a)));
  assert.equal(command.args[command.denoFlags.length], "/opt/rf/runtime/server/main.ts");
  assert.ok(command.args.includes("--bin=smartctl=/usr/sbin/smartctl"));
  assert.deepEqual(command.env, {
    DENO_DIR: "/var/cache/deno",
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
  });
});

Deno.test("buildReceiverCommand() in sudo mode may run sudo and kill, not Deno", () => {
  const command = buildReceiverCommand({ ...options, config: { ...config, runner: "sudo" } });
  assert.ok(command.denoFlags.includes("--allow-run=/usr/bin/sudo,/usr/bin/kill"));
});

Deno.test("buildReceiverCommand() brackets an IPv6 listen address", () => {
  const command = buildReceiverCommand({ ...options, config: { ...config, host: "::1" } });
  assert.ok(command.denoFlags.includes("--allow-net=[::1]:8787"));
});
