/**
 * The normalised SMART report: one shape across ATA, NVMe and SCSI/SAS, and across smartctl
 * 6.7 to 7.5.
 *
 * @module
 */
import type { SmartExitStatus } from "./exit_status.ts";

/** The verdict on a disk. */
export type Health = "ok" | "warning" | "failing" | "unknown";

/** One ATA SMART attribute. `value`, `worst` and `thresh` are optional in smartctl's JSON. */
export interface AtaAttribute {
  readonly id: number;
  readonly name: string;
  readonly value: number | null;
  readonly worst: number | null;
  readonly thresh: number | null;
  readonly raw: number | null;
  readonly rawString: string | null;
  readonly prefailure: boolean;
  /** `"now"`, `"past"` or `""` (JSON mode's words, not text mode's). */
  readonly whenFailed: string;
}

/** The NVMe SMART/health log. */
export interface NvmeHealth {
  readonly criticalWarning: number | null;
  readonly temperatureC: number | null;
  readonly availableSpare: number | null;
  readonly availableSpareThreshold: number | null;
  readonly percentageUsed: number | null;
  readonly dataUnitsRead: number | string | null;
  readonly dataUnitsWritten: number | string | null;
  readonly powerCycles: number | string | null;
  readonly powerOnHours: number | string | null;
  readonly unsafeShutdowns: number | string | null;
  readonly mediaErrors: number | string | null;
  readonly errorLogEntries: number | string | null;
}

/** One SCSI error counter log (read, write or verify). */
export interface ScsiErrorCounter {
  readonly log: string;
  readonly totalErrorsCorrected: number | string | null;
  readonly totalUncorrectedErrors: number | string | null;
  readonly gigabytesProcessed: string | null;
}

/** The SCSI/SAS sections. */
export interface ScsiHealth {
  readonly grownDefects: number | null;
  readonly errorCounters: readonly ScsiErrorCounter[];
}

/** A message smartctl printed into its JSON. */
export interface SmartMessage {
  readonly severity: string;
  readonly text: string;
}

/** Everything rootfence reads out of one `smartctl -a -j` document. */
export interface SmartReport {
  readonly device: {
    readonly name: string | null;
    readonly infoName: string | null;
    readonly type: string | null;
    readonly protocol: string | null;
  };
  readonly smartctlVersion: string | null;
  readonly model: string | null;
  readonly family: string | null;
  readonly serial: string | null;
  readonly firmware: string | null;
  readonly capacityBytes: number | string | null;
  readonly exitStatus: SmartExitStatus;
  readonly messages: readonly SmartMessage[];
  readonly smartPassed: boolean | null;
  readonly temperatureC: number | null;
  readonly powerOnHours: number | string | null;
  readonly powerCycles: number | string | null;
  readonly ata: { readonly attributes: readonly AtaAttribute[] } | null;
  readonly nvme: NvmeHealth | null;
  readonly scsi: ScsiHealth | null;
  readonly wearPercentUsed: number | null;
  readonly health: Health;
  /** Every finding, in plain words. */
  readonly reasons: readonly string[];
  /** Set when stdout was not a smartctl JSON document; health is then `unknown`. */
  readonly parseError?: string;
}
