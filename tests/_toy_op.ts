/**
 * A fifth op that exists only for tests, written the way a new op would be: everything about it
 * is declared here, and nothing outside `ops/` needed to change for it. It reads fan speeds with
 * `sensors -j` (a fake in the tests) and fails with its own code when a fan runs faster than the
 * limit, whose default is a host setting of its own (`--fan-limit-rpm`).
 *
 * @module
 */
import { z } from "zod";
import { commandFailed, fail } from "../ops/_output.ts";
import type { OpDefinition } from "../ops/types.ts";

/** The toy op's own error codes. */
export const FAN_CHECK_ERRORS = ["fan_not_found", "fan_too_fast"] as const;

/** The toy op's host settings. */
export type FanCheckSettings = {
  /** The fastest a fan may run, and the most a caller may allow. */
  readonly fanLimitRpm: number;
};

/** What the toy op reports. */
export interface FanCheckResult {
  readonly fan: string;
  readonly rpm: number;
  readonly limitRpm: number;
}

function inputSchema(settings: FanCheckSettings) {
  return z.strictObject({
    fan: z.string().regex(/^fan[0-9]{1,2}$/).describe("Fan name, e.g. fan1"),
    // The host setting is both the default and the most a caller may ask for.
    limitRpm: z.int().min(1).max(settings.fanLimitRpm).default(settings.fanLimitRpm),
  });
}

/** The toy op's input. */
export type FanCheckInput = z.infer<ReturnType<typeof inputSchema>>;

/** The toy op. */
export const fanCheck: OpDefinition<
  FanCheckInput,
  FanCheckResult,
  FanCheckSettings,
  typeof FAN_CHECK_ERRORS[number]
> = {
  name: "fan-check",
  summary: "Check that a fan runs below the limit (sensors -j)",
  permissions: { run: ["sensors"] },
  timeoutMs: 10_000,
  mutates: false,
  example: { fan: "fan1", limitRpm: 1000 },
  settings: {
    fanLimitRpm: {
      schema: z.coerce.number().int().min(100).max(50_000).default(3000),
      arg: "rpm",
      help: "fans faster than this are reported",
    },
  },
  errors: FAN_CHECK_ERRORS,
  schema: inputSchema,
  argv: () => ({ binary: "sensors", args: ["-j"] }),
  parse(output, input) {
    if (output.exitCode !== 0) return commandFailed("sensors", output);
    const rpm = (JSON.parse(output.stdout) as Record<string, unknown>)[input.fan];
    if (typeof rpm !== "number") return fail("fan_not_found", `Cannot find "${input.fan}"`);
    if (rpm > input.limitRpm) {
      return fail(
        "fan_too_fast",
        `Cannot pass "${input.fan}": ${rpm} RPM is above the limit of ${input.limitRpm} RPM`,
      );
    }
    return { ok: true, value: { fan: input.fan, rpm, limitRpm: input.limitRpm } };
  },
  render: (result) =>
    [["FAN", "RPM", "LIMIT"], [result.fan, String(result.rpm), String(result.limitRpm)]]
      .map((row) => row.map((cell) => cell.padEnd(6)).join("").trimEnd()).join("\n"),
  resourceKeys: () => [],
};
