/**
 * rootfence: four root-only Proxmox host operations as permission-fenced Deno plugins. Each
 * invocation runs in its own Deno process that may run exactly its op's binaries and nothing
 * else: no network, no environment, and no files (but `mount-usb`'s mount base).
 *
 * @example
 * ```ts ignore
 * import { runOp } from "./mod.ts";
 * const run = await runOp("smart", { device: "/dev/sda" });
 * if (!run.ok) console.error(run.error?.code);
 * ```
 *
 * @module
 */
import { findOp } from "./ops/mod.ts";
import {
  type Invocation,
  type InvokeOptions,
  Launcher,
  type LauncherOptions,
} from "./runtime/process/launcher.ts";
import { RootfenceError } from "./runtime/errors.ts";

// The public API: run an op (runOp, or a Launcher for many), the op registry and its types,
// the stable errors, and the pure parsers and tables for saved captures. The process internals
// (the child, the pool, the command builders) stay inside: they are not a contract.
export { ERROR_CODES, errorCodes, findOp, OPS } from "./ops/mod.ts";
export { FENCE_BINARIES, RUNTIME_ERROR_CODES } from "./ops/types.ts";
export type {
  AnyOp,
  BinaryName,
  CommandOutput,
  ErrorCode,
  FailOn,
  HostCommand,
  HostRunOptions,
  OpDefinition,
  OpHost,
  OpSettings,
  ParseOutcome,
  PathGrants,
  PathInfo,
  PermissionSet,
  RuntimeErrorCode,
  SettingDeclaration,
  SettingsDeclaration,
  WriteBase,
} from "./ops/types.ts";
export { RootfenceError } from "./runtime/errors.ts";
export type { ErrorDetail } from "./runtime/errors.ts";
export { Launcher } from "./runtime/process/launcher.ts";
export type { Invocation, InvokeOptions, LauncherOptions } from "./runtime/process/launcher.ts";
export type {
  CommandFacts,
  Progress,
  ProgressLine,
  ProgressTruncated,
} from "./runtime/process/protocol.ts";
export type { PoolOptions } from "./runtime/process/pool.ts";
export type { RunnerMode } from "./runtime/process/child_command.ts";
export { DEFAULT_BIN_PATH } from "./runtime/process/fence.ts";
export type { ResolvedBinaries } from "./runtime/process/fence.ts";
export { parseSmartctl } from "./ops/smart/parse_smartctl.ts";
export { parseSmartctlScan } from "./ops/smart/scan.ts";
export type { ScannedDevice, SmartScan } from "./ops/smart/scan.ts";
export type {
  AtaAttribute,
  Health,
  NvmeHealth,
  ScsiErrorCounter,
  ScsiHealth,
  SmartMessage,
  SmartReport,
} from "./ops/smart/report.ts";
export type {
  SmartDisk,
  SmartDiskBase,
  SmartDiskFailed,
  SmartDiskRead,
  SmartDisks,
  SmartDiskSkipped,
  SmartResult,
} from "./ops/smart/disks.ts";
export { decodeExitStatus, EXIT_BITS } from "./ops/smart/exit_status.ts";
export type { ExitBit, SmartExitStatus } from "./ops/smart/exit_status.ts";
export { parseSensors, READING_KINDS } from "./ops/sensors/parse_sensors.ts";
export type { Chip, Reading, ReadingKind, SensorsReport } from "./ops/sensors/parse_sensors.ts";
export { smartTable } from "./ops/smart/table.ts";
export { sensorsTable } from "./ops/sensors/table.ts";

/** Options of {@linkcode runOp}: the launcher's and the invocation's together. */
export interface RunOpOptions extends LauncherOptions, InvokeOptions {}

/**
 * Runs one op by name through a fresh fenced launcher. For many invocations, create one
 * {@linkcode Launcher} and call its `invoke` instead (it resolves binaries once).
 *
 * Needs read, env and run permission (see `runtime/process/launcher.ts`).
 *
 * @param name The op's name, e.g. `"sensors"`.
 * @param input The op's input, validated against its schema.
 * @param options Launcher and invocation options.
 * @returns The invocation; failures come back as `ok: false` with a stable code.
 * @throws {RootfenceError} `invalid_input` for a name that is not a registered op.
 */
export async function runOp(
  name: string,
  input: unknown,
  options: RunOpOptions = {},
): Promise<Invocation> {
  const op = findOp(name);
  if (op === undefined) {
    throw new RootfenceError("invalid_input", `Cannot run op "${name}": no such op`);
  }
  const { timeoutMs, ...launcherOptions } = options;
  const launcher = await Launcher.create(launcherOptions);
  return launcher.invoke(op, input, timeoutMs === undefined ? {} : { timeoutMs });
}
