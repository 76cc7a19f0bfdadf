/**
 * `deno task report smart <file.json> [--exit-code N]` / `deno task report sensors <file>`:
 * renders a saved capture (for example from a disk on another machine) as the op would.
 * Needs read permission for the file only; `-` reads stdin.
 *
 * @module
 */
import { sensors } from "../../ops/sensors/mod.ts";
import { parseSensors } from "../../ops/sensors/parse_sensors.ts";
import { sensorsTable } from "../../ops/sensors/table.ts";
import { parseSmartctl } from "../../ops/smart/parse_smartctl.ts";
import { smart } from "../../ops/smart/mod.ts";
import { smartTable } from "../../ops/smart/table.ts";
import { failOnExit } from "./fail_on.ts";
import {
  HELP,
  NeedError,
  parseCli,
  printUsage,
  printUsageError,
  runCli,
  UsageError,
} from "./usage.ts";

const COMMAND = "deno task report";

const USAGE = `Usage: deno task report smart <file.json> [--exit-code N] [--format table|json]
                          [--fail-on ${smart.failOn?.levels.join("|")}]
       deno task report sensors <file> [--exit-code N] [--format table|json]

Renders a saved smartctl -a -j or sensors -j capture. Give smartctl's exit status with
--exit-code when you know it (the default is the one recorded in the JSON). - reads stdin.
--fail-on exits 1 when the disk's verdict is that bad or worse, as in deno task op
(default ${smart.failOn?.fallback}; never keeps exit 0 for every readable capture).`;

/**
 * Runs the report CLI and returns its exit code: 0 ok, 1 an unreadable capture or a verdict that
 * fails `--fail-on`, 2 usage.
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    return await runReport(args);
  } catch (error) {
    if (error instanceof UsageError) return printUsageError(error, COMMAND);
    throw error;
  }
}

async function runReport(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCli({
    args: [...args],
    options: {
      "exit-code": { type: "string" },
      format: { type: "string" },
      "fail-on": { type: "string" },
      help: HELP,
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printUsage(USAGE);
  const [kind, file, ...extra] = positionals;
  if (kind !== "smart" && kind !== "sensors") {
    throw new UsageError(
      kind === undefined
        ? "Cannot report: name smart or sensors"
        : `Cannot report "${kind}": use smart or sensors`,
    );
  }
  if (file === undefined) {
    throw new UsageError(`Cannot report ${kind}: name a file, or - for stdin`);
  }
  if (extra.length > 0) {
    throw new UsageError(`Cannot report ${kind}: one file, not also "${extra[0]}"`);
  }
  const format = values.format ?? "table";
  if (format !== "table" && format !== "json") {
    throw new UsageError(`Cannot use --format "${format}": use table or json`);
  }
  const exitText = values["exit-code"];
  if (exitText !== undefined && !/^[0-9]{1,3}$/.test(exitText)) {
    throw new UsageError(`Cannot use --exit-code "${exitText}": give a number 0..999`);
  }
  const failOn = values["fail-on"];
  const read = () => file === "-" ? new Response(Deno.stdin.readable).text() : readCapture(file);
  const exitCode = exitText === undefined ? undefined : Number(exitText);
  if (kind === "smart") {
    const exitOf = failOnExit(smart, failOn);
    const report = parseSmartctl(await read(), exitCode);
    console.log(format === "json" ? JSON.stringify(report, null, 2) : smartTable(report));
    return report.parseError === undefined ? exitOf(report) : 1;
  }
  const exitOf = failOnExit(sensors, failOn);
  const report = parseSensors(await read(), exitCode);
  console.log(format === "json" ? JSON.stringify(report, null, 2) : sensorsTable(report));
  return report.error === undefined ? exitOf(report) : 1;
}

/** Reads a saved capture; a missing one is a {@linkcode NeedError}. */
async function readCapture(file: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new NeedError(`Cannot read "${file}": no such file; give the path of a saved capture`);
  }
}

if (import.meta.main) Deno.exit(await runCli(main, COMMAND, Deno.args));
