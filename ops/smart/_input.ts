/**
 * What `smart` accepts, from a user or from a scan alike: the anchored device path and `-d`
 * type, checked by the one schema before anything reaches smartctl's argv.
 *
 * @module
 */
import { z } from "zod";

/**
 * Whole-disk device paths smartctl can query: SCSI/SATA, old IDE, SCSI generic, NVMe
 * controllers and namespaces, MegaRAID buses and the stable udev names. Nothing can start with
 * `-`, hold a space or climb with `..`.
 */
export const DEVICE_PATH =
  /^\/dev\/(?:sd[a-z]{1,3}|hd[a-z]|sg[0-9]{1,3}|nvme[0-9]{1,3}(?:n[0-9]{1,3})?|bus\/[0-9]{1,3}|disk\/by-(?:id|path)\/[A-Za-z0-9][A-Za-z0-9._:@+-]{0,200})$/;

/** `-d` values from smartctl's own list; controller members take a small port number. */
export const DEVICE_TYPE =
  /^(?:auto|ata|scsi|nvme|sat|sat,auto|sat,12|sat,16|usbcypress|usbjmicron|usbjmicron,x|usbjmicron,p|usbprolific|usbsunplus|sntasmedia|sntjmicron|sntrealtek|(?:sat\+)?megaraid,(?:[0-9]|[1-9][0-9]{1,2})|cciss,[0-9]{1,2}|3ware,[0-9]{1,2}|areca,[0-9]{1,2})$/;

const device = z.string().max(220).regex(
  DEVICE_PATH,
  "must be a whole-disk device such as /dev/sda, /dev/nvme0 or /dev/disk/by-id/<id>",
);

const deviceType = z.string().max(32).regex(
  DEVICE_TYPE,
  "must be a smartctl -d type such as sat, nvme, usbjmicron or megaraid,0",
);

/** One disk to read: what a user names, and what each scanned device must pass. */
export const DISK = z.strictObject({ device, deviceType: deviceType.optional() });

/** A disk read with `smartctl -a -j`. */
export type Disk = z.infer<typeof DISK>;

/** The input of `smart`: one disk, or none for every disk a scan finds. */
export const INPUT = z.strictObject({
  device: device.optional().describe(
    "Disk device, e.g. /dev/sda; without it, every disk smartctl --scan-open finds",
  ),
  deviceType: deviceType.optional().describe(
    "smartctl -d type, e.g. sat or megaraid,0 (with device only)",
  ),
}).refine((spec) => spec.device !== undefined || spec.deviceType === undefined, {
  path: ["deviceType"],
  message: "needs a device: without one, each disk is read with the type the scan reports",
}).meta({ dependentRequired: { deviceType: ["device"] } });

/** Validated input of `smart`. */
export type SmartInput = z.infer<typeof INPUT>;
