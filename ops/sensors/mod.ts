/**
 * `sensors`: reads hardware sensors with `sensors -j`.
 *
 * @module
 */
import { z } from "zod";
import { commandFailed, fail } from "../_output.ts";
import type { OpDefinition } from "../types.ts";

const input = z.strictObject({});

/** Validated input of `sensors` (always empty). */
export type SensorsInput = z.infer<typeof input>;

/** What a successful read returns. */
export interface SensorsResult {
  /** True when lm-sensors found no chip (its exit 1 with an empty document). */
  readonly noSensors: boolean;
  readonly sensors: Record<string, unknown>;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // not JSON: the caller decides what that means
  }
  return undefined;
}

/** The `sensors` op. */
export const sensors: OpDefinition<SensorsInput, SensorsResult> = {
  name: "sensors",
  summary: "Read hardware sensors (sensors -j)",
  permissions: { run: ["sensors"] },
  timeoutMs: 10_000,
  mutates: false,
  schema: () => input,
  argv: () => ({ binary: "sensors", args: ["-j"] }),
  parse(output) {
    const doc = parseObject(output.stdout);
    if (output.exitCode === 0 && output.signal === null && doc !== undefined) {
      return { ok: true, value: { noSensors: Object.keys(doc).length === 0, sensors: doc } };
    }
    // lm-sensors exits 1 with "{}" when the host simply has no sensors: not an error.
    if (output.exitCode === 1 && doc !== undefined && Object.keys(doc).length === 0) {
      return { ok: true, value: { noSensors: true, sensors: {} } };
    }
    if (output.stdoutTruncated) {
      return fail("output_too_large", "Cannot parse sensors output: it exceeded the cap");
    }
    return commandFailed("sensors", output);
  },
  resourceKey: () => "sensors",
};
