/**
 * The main mount command line of `mount-usb` and the reader of its output. Pure.
 *
 * @module
 */
import { classify, commandFailed, fail, type Rule, tail } from "../_output.ts";
import type { CommandOutput, ParseOutcome } from "../types.ts";
import type { MountUsbError, MountUsbInput, MountUsbResult } from "./mod.ts";

/**
 * mount's failure messages to error codes: util-linux 2.38-2.41 texts (libmount
 * context_mount.c), run with LC_ALL=C. They only classify a failure; whether something is mounted
 * where is read from the mount table, never from these messages.
 */
export const RULES: readonly Rule<MountUsbError | "denied">[] = [
  [/can't find UUID=/, "uuid_not_found"],
  [/already mounted or mount point busy|target is busy/, "target_busy"],
  [/already mounted on |is already mounted/, "already_mounted"],
  [/unknown filesystem type/, "unknown_fs"],
  [/wrong fs type, bad option, bad superblock/, "wrong_fs_type"],
  [/must be superuser|operation permitted for root only|Permission denied/, "denied"],
];

/** What mount prints when a write-protected device was mounted read-only instead. */
export const READ_ONLY_FALLBACK = /write-protected, mounted read-only/;

/** The mount options, fixed except for `ro`. */
export function mountOptions(readOnly: boolean | undefined): string {
  return readOnly === true ? "nosuid,nodev,noexec,ro" : "nosuid,nodev,noexec";
}

/** The arguments the main mount and its `--fake` dry run share. */
export function mountArgs(spec: MountUsbInput): string[] {
  // --internal-only: a /sbin/mount.<type> helper would run as root outside the fence.
  return [
    "--internal-only",
    "-t",
    spec.fsType,
    "-o",
    mountOptions(spec.readOnly),
    `UUID=${spec.uuid}`,
    spec.target,
  ];
}

/** The message for a mount the kernel made read-only although read-write was asked. */
export function readOnlyMessage(spec: MountUsbInput, already: boolean): string {
  return `Cannot mount UUID=${spec.uuid} read-write on "${spec.target}": ` +
    (already
      ? "it is already mounted there read-only. "
      : "the device is write-protected, so the kernel mounted it read-only. ") +
    "It stays mounted; ask again with readOnly to accept that, or unmount it";
}

/**
 * Reads the main mount's output alone: success, a read-only fallback (an error: read-write was
 * asked), or a failure classified from mount's message. The mount table is what says where
 * something is mounted; the message never does.
 */
export function parseMount(
  output: CommandOutput,
  spec: MountUsbInput,
): ParseOutcome<MountUsbResult, MountUsbError> {
  if (output.exitCode === 0 && output.signal === null) {
    if (spec.readOnly !== true && READ_ONLY_FALLBACK.test(output.stderr)) {
      return fail("mounted_read_only", readOnlyMessage(spec, false));
    }
    return {
      ok: true,
      value: {
        uuid: spec.uuid,
        target: spec.target,
        fsType: spec.fsType,
        options: mountOptions(spec.readOnly),
        readOnly: spec.readOnly === true,
        alreadyMounted: false,
        warnings: tail(output.stderr),
      },
    };
  }
  const code = classify(output.stderr, RULES);
  if (code === undefined) return commandFailed("mount", output);
  return fail(code, `Cannot mount UUID=${spec.uuid} on "${spec.target}": ${tail(output.stderr)}`);
}
