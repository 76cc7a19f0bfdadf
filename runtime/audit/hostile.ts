/**
 * A shared corpus of hostile argument values: option injection, path traversal, NUL and
 * newline, over-long values, unicode look-alikes and shell metacharacters.
 *
 * @module
 */

/** Values that must never reach argv, by family. */
export const HOSTILE: Readonly<Record<string, readonly string[]>> = {
  "option injection": ["-t long", "--scan", "-o exec,suid", "--rootfs=/dev/sda", "-d", "--"],
  "path traversal": ["../../etc/passwd", "/mnt/usb/../../etc", "/dev/../etc/shadow", "/etc", "/"],
  "NUL and newline": ["a\u0000b", "a\nb", "a\r\nb", "\n", "/dev/sda\u0000"],
  "over-long": ["a".repeat(4096), "/dev/sd" + "a".repeat(1000)],
  "unicode look-alikes": [
    "/dev/s\u0501a",
    "\uff0fetc",
    "/mnt/usb/a\u2215..\u2215etc",
    "1298\u20100BD4",
  ],
  "shell metacharacters": ["; reboot", "$(id)", "`id`", "| sh", "&& rm -rf /", "a b", "*"],
};

/**
 * Variants of a valid value with hostile content: the hostile value alone, prepended to the
 * valid one, and appended to it (so a pattern that is not anchored is caught too). Option
 * injection is only dangerous at the start, so it is not appended (`golden-d` is a fine name).
 * The bare hostile values are always tried alone.
 */
export function hostileVariants(valid: unknown): { family: string; value: unknown }[] {
  const out: { family: string; value: unknown }[] = [];
  for (const [family, values] of Object.entries(HOSTILE)) {
    for (const value of values) {
      out.push({ family, value });
      if (typeof valid === "string" || typeof valid === "number") {
        out.push({ family, value: `${value}${valid}` });
        // Appending "/etc" names a deeper path, and deeper is an escape too: the kernel follows
        // symlinks in every component of a mount target, so a mount point must be one name.
        if (family !== "option injection") out.push({ family, value: `${valid}${value}` });
      }
    }
  }
  return out;
}
