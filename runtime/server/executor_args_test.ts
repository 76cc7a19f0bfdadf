import assert from "node:assert/strict";
import { serverDefaults } from "./config.ts";
import { decodeExecutorArgs, encodeExecutorArgs, type ExecutorArgs } from "./executor_args.ts";
import { buildExecutorCommand, type ExecutorCommandOptions } from "./receiver_commands.ts";

const options: ExecutorCommandOptions = {
  config: {
    ...serverDefaults("/var/lib/rootfence"),
    runner: "sudo",
    settings: { mountBase: "/a" },
  },
  denoPath: "/opt/deno/deno",
  configPath: "/opt/rf/deno.json",
  lockPath: "/opt/rf/deno.lock",
  entryPath: "/opt/rf/runtime/server/executor.ts",
  killPath: "/usr/bin/kill",
  binaries: { smartctl: "/usr/sbin/smartctl", sensors: "/usr/bin/sensors" },
  denoDir: "/var/cache/deno",
  readFiles: [],
  socketGroup: 997,
  baseProblems: { "/a": ["world-writable"], "/b": [] },
  stopWithStdin: true,
};

/** The executor's arguments as `buildExecutorCommand` passes them. */
function argvOf(command: { args: readonly string[]; denoFlags: readonly string[] }): string[] {
  return command.args.slice(command.denoFlags.length + 1);
}

Deno.test("decodeExecutorArgs() reads back every value buildExecutorCommand() passes", () => {
  const { config } = options;
  const args = decodeExecutorArgs(argvOf(buildExecutorCommand(options)));
  const expected: ExecutorArgs = {
    socket: config.socket,
    socketGroup: 997,
    stateDir: config.stateDir,
    keysFile: config.keysFile,
    binPath: config.binPath,
    runner: "sudo",
    sudoPath: config.sudoPath,
    maxRunning: config.maxRunning,
    maxQueued: config.maxQueued,
    graceMs: config.graceMs,
    poolSize: config.poolSize,
    poolUses: config.poolUses,
    poolIdleMs: config.poolIdleMs,
    metricsSmartMaxAgeMs: 300_000,
    metricsSensorsMaxAgeMs: 30_000,
    retentionMs: config.retentionMs,
    retentionJobs: config.retentionJobs,
    denoPath: "/opt/deno/deno",
    killPath: "/usr/bin/kill",
    bin: options.binaries,
    // Only the bases with problems travel.
    baseProblems: { "/a": ["world-writable"] },
    stopWithStdin: true,
    settings: { mountBase: "/a" },
  };
  assert.deepEqual(args, expected);
  assert.deepEqual(encodeExecutorArgs(args), argvOf(buildExecutorCommand(options)));
});

Deno.test("decodeExecutorArgs() takes the optional flags as absent", () => {
  const { socketGroup: _, baseProblems: _b, stopWithStdin: _s, ...rest } = options;
  const args = decodeExecutorArgs(argvOf(buildExecutorCommand(rest)));
  assert.equal(args.socketGroup, undefined);
  assert.deepEqual(args.baseProblems, {});
  assert.equal(args.stopWithStdin, false);
});

Deno.test("decodeExecutorArgs() refuses arguments no starter passes", () => {
  const argv = argvOf(buildExecutorCommand(options));
  const without = (flag: string) => argv.filter((a) => !a.startsWith(`--${flag}=`));
  const cases: [string[], ErrorConstructor][] = [
    [without("state-dir"), RangeError],
    [without("mount-base"), RangeError],
    [[...without("max-running"), "--max-running=0"], RangeError],
    [[...without("runner"), "--runner=doas"], RangeError],
    [[...without("socket"), "--socket=executor.sock"], RangeError],
    [[...argv, "--base-problems=nope"], RangeError],
    [[...argv, "--bin=sh=/bin/sh"], RangeError],
    [[...argv, "--allow-all"], TypeError],
  ];
  for (const [bad, type] of cases) assert.throws(() => decodeExecutorArgs(bad), type);
});
