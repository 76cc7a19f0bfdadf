/**
 * The human view of an all-disk SMART read (`deno task op smart --format table` without a
 * device): a count line, then one block per disk.
 *
 * @module
 */
import type { SmartDisk, SmartDisks } from "./disks.ts";
import { smartTable } from "./table.ts";

function row(key: string, value: string): string {
  return `${key.padEnd(9)} ${value}`.trimEnd();
}

function block(disk: SmartDisk): string {
  if (disk.status === "read") return smartTable(disk.report);
  const kind = [disk.deviceType, disk.protocol].filter(Boolean).join(", ");
  const head = row("Device", `${disk.device}${kind ? ` (${kind})` : ""}`);
  return disk.status === "failed"
    ? [head, row("Health", "NOT READ"), row("Error", `${disk.error.code}: ${disk.error.message}`)]
      .join("\n")
    : [head, row("Health", "SKIPPED"), row("Reason", disk.reason)].join("\n");
}

/**
 * Renders every disk of an all-disk read: how many the scan found and how they fared, then a
 * block per disk, separated by blank lines. A read disk's block is {@linkcode smartTable}'s.
 *
 * @example
 * ```ts
 * import { smartDisksTable } from "./disks_table.ts";
 * import assert from "node:assert/strict";
 * const none = { disks: [], counts: { found: 0, read: 0, failed: 0, skipped: 0 } };
 * assert.equal(smartDisksTable(none), "Disks     none found by smartctl --scan-open");
 * ```
 */
export function smartDisksTable(result: SmartDisks): string {
  const { found, read, failed, skipped } = result.counts;
  if (found === 0) return row("Disks", "none found by smartctl --scan-open");
  const summary = row(
    "Disks",
    `${found} found: ${read} read, ${failed} not read, ${skipped} skipped`,
  );
  return [summary, ...result.disks.map(block)].join("\n\n");
}
