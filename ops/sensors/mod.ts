/**
 * `sensors`: reads hardware sensors with `sensors -j`.
 *
 * @module
 */
import { z } from "zod";
import { commandFailed, fail } from "../_output.ts";
import type { OpDefinition } from "../types.ts";
import { parseSensors, type SensorsReport } from "./parse_sensors.ts";
import { sensorsTable } from "./table.ts";

const input = z.strictObject({});

/** Validated input of `sensors` (always empty). */
export type SensorsInput = z.infer<typeof input>;

/** The `sensors` op. */
export const sensors: OpDefinition<SensorsInput, SensorsReport> = {
  name: "sensors",
  summary: "Read hardware sensors (sensors -j)",
  permissions: { run: ["sensors"] },
  timeoutMs: 10_000,
  mutates: false,
  example: {},
  schema: () => input,
  argv: () => ({ binary: "sensors", args: ["-j"] }),
  parse(output) {
    const report = parseSensors(output.stdout, output.exitCode);
    // lm-sensors exits 1 with "{}" when the host simply has no sensors: not an error.
    const exitOk = output.exitCode === 0 || (output.exitCode === 1 && report.noSensors);
    if (report.error === undefined && exitOk && output.signal === null) {
      return { ok: true, value: report };
    }
    if (output.stdoutTruncated) {
      return fail("output_too_large", "Cannot parse sensors output: it exceeded the cap");
    }
    return commandFailed("sensors", output);
  },
  render: sensorsTable,
  // Reading hwmon is safe to do concurrently: no resource to serialise on.
  resourceKeys: () => [],
};
