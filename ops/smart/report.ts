/**
 * The normalised SMART report: one shape across ATA, NVMe and SCSI/SAS, and across smartctl
 * 6.7 to 7.5.
 *
 * @module
 */
import type { SmartExitStatus } from "./exit_status.ts";

/** The verdict on a disk. */
export type Health = "ok" | "warning" | "failing" | "unknown";

/**
 * One ATA SMART attribute, a row of `ata_smart_attributes.table`. `value`, `worst` and `thresh`
 * are optional in smartctl's JSON; a nullable field is `null` when its key is absent.
 */
export interface AtaAttribute {
  /** The attribute number (`id`), e.g. 5 for reallocated sectors; rows without one are dropped. */
  readonly id: number;
  /** smartctl's name for it (`name`), e.g. `Reallocated_Sector_Ct`; else `attribute_<id>`. */
  readonly name: string;
  /** The current normalised value (`value`), usually 1 to 253; higher is better. */
  readonly value: number | null;
  /** The lowest normalised value recorded (`worst`). */
  readonly worst: number | null;
  /** The threshold (`thresh`): a normalised value at or below it means the attribute failed. */
  readonly thresh: number | null;
  /** The raw value (`raw.value`), a vendor-specific count or reading. */
  readonly raw: number | null;
  /** smartctl's rendering of the raw value (`raw.string`), e.g. `36 (Min/Max 20/45)`. */
  readonly rawString: string | null;
  /** Whether it is a pre-failure attribute (`flags.prefailure`); false for old-age or unflagged. */
  readonly prefailure: boolean;
  /** `"now"`, `"past"` or `""` (JSON mode's words, not text mode's). */
  readonly whenFailed: string;
}

/**
 * The NVMe SMART/health log (`nvme_smart_health_information_log`). Counters are numbers, or
 * decimal strings when too large for a JS number; every field is `null` when its key is absent.
 */
export interface NvmeHealth {
  /** The critical warning bitmask (`critical_warning`); any set bit means failing. */
  readonly criticalWarning: number | null;
  /** The composite temperature in °C (`temperature`). */
  readonly temperatureC: number | null;
  /** The spare capacity left, in percent (`available_spare`). */
  readonly availableSpare: number | null;
  /** The spare percentage below which the drive warns (`available_spare_threshold`). */
  readonly availableSpareThreshold: number | null;
  /** The vendor's estimate of life used, in percent (`percentage_used`); may pass 100. */
  readonly percentageUsed: number | null;
  /** Data read, in units of 1,000 512-byte blocks (`data_units_read`). */
  readonly dataUnitsRead: number | string | null;
  /** Data written, in units of 1,000 512-byte blocks (`data_units_written`). */
  readonly dataUnitsWritten: number | string | null;
  /** Power cycles (`power_cycles`). */
  readonly powerCycles: number | string | null;
  /** Hours powered on (`power_on_hours`). */
  readonly powerOnHours: number | string | null;
  /** Power losses without a clean shutdown (`unsafe_shutdowns`). */
  readonly unsafeShutdowns: number | string | null;
  /** Unrecovered data integrity errors (`media_errors`); above 0 means a warning. */
  readonly mediaErrors: number | string | null;
  /** Entries in the controller's error log over its life (`num_err_log_entries`). */
  readonly errorLogEntries: number | string | null;
}

/**
 * One SCSI error counter log (read, write or verify) from `scsi_error_counter_log`. Counters are
 * numbers, or decimal strings when too large for a JS number; `null` when their key is absent.
 */
export interface ScsiErrorCounter {
  /** Which log: `"read"`, `"write"` or `"verify"`. */
  readonly log: string;
  /** Errors the drive corrected (`total_errors_corrected`). */
  readonly totalErrorsCorrected: number | string | null;
  /** Errors the drive could not correct (`total_uncorrected_errors`); above 0 means a warning. */
  readonly totalUncorrectedErrors: number | string | null;
  /** Data processed in 10^9 bytes (`gigabytes_processed`), as smartctl writes it: `"61.443"`. */
  readonly gigabytesProcessed: string | null;
}

/** The SCSI/SAS sections. */
export interface ScsiHealth {
  /**
   * Entries in the grown defect list (`scsi_grown_defect_list`): sectors remapped since
   * manufacture; `null` when absent.
   */
  readonly grownDefects: number | null;
  /** The read, write and verify logs present, in that order; empty when there are none. */
  readonly errorCounters: readonly ScsiErrorCounter[];
}

/** A message smartctl printed into its JSON (`smartctl.messages`). */
export interface SmartMessage {
  /** `"information"`, `"warning"` or `"error"` (`severity`); `"information"` when absent. */
  readonly severity: string;
  /** The message (`string`); `""` when absent. */
  readonly text: string;
}

/**
 * Everything rootfence reads out of one `smartctl -a -j` document. A nullable field is `null`
 * when none of the keys it is read from is present; counters may be decimal strings when too large
 * for a JS number.
 */
export interface SmartReport {
  /** The device as smartctl opened it (`device`). */
  readonly device: {
    /** The path it was given (`name`), e.g. `/dev/sda`. */
    readonly name: string | null;
    /** The path with its type (`info_name`), e.g. `/dev/sda [SAT]`. */
    readonly infoName: string | null;
    /** The `-d` type smartctl used (`type`), e.g. `sat` or `nvme`. */
    readonly type: string | null;
    /** The protocol (`protocol`): `ATA`, `NVMe` or `SCSI`. */
    readonly protocol: string | null;
  };
  /** smartctl's version (`smartctl.version`, joined with dots), e.g. `7.4`. */
  readonly smartctlVersion: string | null;
  /** The model: `model_name`, else `scsi_model_name`, else the SCSI vendor and product. */
  readonly model: string | null;
  /** The family from smartctl's drive database (`model_family`); ATA drives it knows only. */
  readonly family: string | null;
  /** The serial number (`serial_number`). */
  readonly serial: string | null;
  /** The firmware version (`firmware_version`, else SCSI `scsi_revision` or `revision`). */
  readonly firmware: string | null;
  /** The capacity in bytes (`user_capacity.bytes`, else `nvme_total_capacity`). */
  readonly capacityBytes: number | string | null;
  /**
   * smartctl's exit status, decoded: the process's, else `smartctl.exit_status` from the JSON;
   * `null` when unknown (a trimmed capture).
   */
  readonly exitStatus: SmartExitStatus | null;
  /** What smartctl said (`smartctl.messages`), in order; empty when it said nothing. */
  readonly messages: readonly SmartMessage[];
  /** The drive's overall-health self-assessment (`smart_status.passed`). */
  readonly smartPassed: boolean | null;
  /** The current temperature in °C (`temperature.current`, else NVMe's, else SCSI's). */
  readonly temperatureC: number | null;
  /** Hours powered on (`power_on_time.hours`, else NVMe `power_on_hours`). */
  readonly powerOnHours: number | string | null;
  /** Power cycles (`power_cycle_count`, else NVMe `power_cycles`, else SCSI start-stop cycles). */
  readonly powerCycles: number | string | null;
  /** The ATA attribute table (`ata_smart_attributes`); `null` when the document has none. */
  readonly ata: { readonly attributes: readonly AtaAttribute[] } | null;
  /** The NVMe health log; `null` when the document has none. */
  readonly nvme: NvmeHealth | null;
  /** The SCSI sections; `null` unless the protocol is SCSI or a SCSI section is present. */
  readonly scsi: ScsiHealth | null;
  /**
   * Rated endurance used, in percent (0 is new; may pass 100): `endurance_used`, NVMe
   * `percentage_used`, the SCSI or ATA-statistics indicator, else 100 minus a life-left attribute.
   */
  readonly wearPercentUsed: number | null;
  /** The verdict of the rules in `health.ts`. */
  readonly health: Health;
  /** Every finding, in plain words. */
  readonly reasons: readonly string[];
  /** Set when stdout was not a smartctl JSON document; health is then `unknown`. */
  readonly parseError?: string;
}
