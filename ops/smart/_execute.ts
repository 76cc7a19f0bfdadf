/**
 * How `smart` runs inside its fenced child, through the injected {@linkcode OpHost}. With a
 * device: its one `smartctl -a -j`. Without one: `smartctl --scan-open -j`, then `-a -j` for
 * each device listed, with the type the scan reported, one after the other. Each scanned name
 * and type must pass the same anchored schema as a user's input before it reaches argv; a device
 * that does not is skipped. Each command is killed after {@linkcode DISK_TIMEOUT_MS}, and no read
 * starts once {@linkcode ALL_DISKS_BUDGET_MS} have passed, so the whole run ends well inside the
 * op's timeout and a stuck disk costs its own entry, not the others'.
 *
 * Needs, through `host`: run `smartctl`.
 *
 * @module
 */
import { commandFailed, fail } from "../_output.ts";
import type { HostCommand, OpHost, ParseOutcome } from "../types.ts";
import { DISK, type SmartInput } from "./_input.ts";
import { DISK_TIMEOUT_MS, diskCommand, openFailureCode, readDisk } from "./_read_disk.ts";
import type { SmartDisk, SmartDiskBase, SmartDisks, SmartResult } from "./disks.ts";
import type { SmartError } from "./mod.ts";
import { parseSmartctlScan, type ScannedDevice } from "./scan.ts";

/** The scan, the main command of an all-disk read. */
export const SCAN: HostCommand = { binary: "smartctl", args: ["--scan-open", "-j"] };

/** No disk read starts after this long (from the scan's start). */
export const ALL_DISKS_BUDGET_MS = 3 * 60_000;

/** The most disks one run reads (a bound on the reply: a report is a few KiB). */
export const MAX_DISKS = 128;

/** One scanned device, ready to read or settled without running anything. */
export type PlannedDisk =
  | { readonly kind: "read"; readonly base: SmartDiskBase; readonly command: HostCommand }
  | { readonly kind: "settled"; readonly disk: SmartDisk };

/**
 * Decides for each scanned device, before anything runs: read it (its name and type passed the
 * input schema), or settle it as skipped (they did not, or the run is full) or failed (the scan
 * could not open it). Pure.
 */
export function planDisks(devices: readonly ScannedDevice[]): PlannedDisk[] {
  return devices.map((scanned, i): PlannedDisk => {
    const base = { device: scanned.name, deviceType: scanned.type, protocol: scanned.protocol };
    if (i >= MAX_DISKS) {
      const reason = `over the ${MAX_DISKS} disks one run reads; read it with its device`;
      return { kind: "settled", disk: { ...base, status: "skipped", reason } };
    }
    const checked = DISK.safeParse({
      device: scanned.name,
      ...(scanned.type === null ? {} : { deviceType: scanned.type }),
    });
    if (!checked.success) {
      const reason = checked.error.issues.map((issue) =>
        `${issue.path.join(".")}: ${issue.message}`
      ).join("; ");
      return { kind: "settled", disk: { ...base, status: "skipped", reason } };
    }
    if (scanned.openError !== null) {
      const error = {
        code: openFailureCode(scanned.openError),
        message: `Cannot open "${scanned.name}": ${scanned.openError}`,
      };
      return { kind: "settled", disk: { ...base, status: "failed", error } };
    }
    return { kind: "read", base, command: diskCommand(checked.data) };
  });
}

/** Counts disks by status. */
function counted(disks: readonly SmartDisk[]): SmartDisks {
  const count = (status: SmartDisk["status"]) => disks.filter((d) => d.status === status).length;
  return {
    disks,
    counts: {
      found: disks.length,
      read: count("read"),
      failed: count("failed"),
      skipped: count("skipped"),
    },
  };
}

/** Options of {@linkcode readAllDisks}. */
export interface ReadAllDisksOptions {
  /**
   * The clock, in milliseconds, for the time budget.
   * @default {performance.now}
   */
  readonly now?: () => number;
  /**
   * No disk read starts after this many milliseconds from the start.
   * @default {ALL_DISKS_BUDGET_MS}
   */
  readonly budgetMs?: number;
}

/**
 * Scans, then reads every disk the scan listed in turn. The scan failing fails the run; a disk
 * failing fails its own entry only.
 */
export async function readAllDisks(
  host: OpHost,
  options: ReadAllDisksOptions = {},
): Promise<ParseOutcome<SmartDisks, SmartError>> {
  const { now = () => performance.now(), budgetMs = ALL_DISKS_BUDGET_MS } = options;
  const started = now();
  const output = await host.run(SCAN, { timeoutMs: DISK_TIMEOUT_MS });
  if (output.timedOut === true) {
    return fail(
      "timeout",
      `Cannot scan for disks: smartctl was killed after ${DISK_TIMEOUT_MS / 1000} s`,
    );
  }
  if (output.stdoutTruncated) {
    return fail("output_too_large", "Cannot read the disk scan: smartctl printed over 1 MiB");
  }
  const scan = parseSmartctlScan(output.stdout);
  // Exit bit 0: smartctl did not take its command line; there is no scan to trust.
  if (scan.error !== undefined || output.signal !== null || (output.exitCode & 1) !== 0) {
    return commandFailed("smartctl --scan-open", output);
  }
  const disks: SmartDisk[] = [];
  for (const planned of planDisks(scan.devices)) {
    if (planned.kind === "settled") {
      disks.push(planned.disk);
      continue;
    }
    const { base, command } = planned;
    if (now() - started >= budgetMs) {
      const message = `Cannot read "${base.device}": the run spent its ${
        budgetMs / 1000
      } s budget before reaching it; read it with its device`;
      disks.push({ ...base, status: "failed", error: { code: "timeout", message } });
      continue;
    }
    const outcome = readDisk(await host.run(command, { timeoutMs: DISK_TIMEOUT_MS }), base.device);
    disks.push(
      outcome.ok
        ? { ...base, status: "read", report: outcome.value }
        : { ...base, status: "failed", error: { code: outcome.code, message: outcome.message } },
    );
  }
  return { ok: true, value: counted(disks) };
}

/** Runs `smart`: one disk with a device, every disk the scan lists without one. */
export async function executeSmart(
  spec: SmartInput,
  host: OpHost,
): Promise<ParseOutcome<SmartResult, SmartError>> {
  if (spec.device === undefined) return await readAllDisks(host);
  const command = diskCommand({ device: spec.device, deviceType: spec.deviceType });
  const output = await host.run(command, { timeoutMs: DISK_TIMEOUT_MS });
  return readDisk(output, spec.device);
}
