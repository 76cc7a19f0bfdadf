/**
 * `deno task report smart <file.json> [--exit-code N]` / `deno task report sensors <file>`:
 * renders a saved capture (for example from a disk on another machine) as the op would.
 * Needs read permission for the file only; `-` reads stdin.
 *
 * @module
 */
import { parseSensors } from "../ops/sensors/parse_sensors.ts";
import { parseSmartctl } from "../ops/smart/parse_smartctl.ts";
import { parseArgs } from "./args.ts";
import { sensorsTable, smartTable } from "./format/table.ts";

const USAGE = `Usage: deno task report smart <file.json> [--exit-code N] [--format table|json]
       deno task report sensors <file> [--exit-code N] [--format table|json]

Renders a saved smartctl -a -j or sensors -j capture. Give smartctl's exit status with
--exit-code when you know it (the default is the one recorded in the JSON). - reads stdin.`;

/** Runs the report CLI and returns its exit code (0 ok, 1 unreadable capture, 2 usage). */
export async function main(args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        "exit-code": { type: "string" },
        format: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [kind, file] = positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const format = values.format ?? "table";
  const exitText = values["exit-code"];
  if (
    (kind !== "smart" && kind !== "sensors") || file === undefined || positionals.length > 2 ||
    (format !== "table" && format !== "json") ||
    (exitText !== undefined && !/^[0-9]{1,3}$/.test(exitText))
  ) {
    console.error(USAGE);
    return 2;
  }
  const text = file === "-"
    ? await new Response(Deno.stdin.readable).text()
    : await Deno.readTextFile(file);
  const exitCode = exitText === undefined ? undefined : Number(exitText);
  if (kind === "smart") {
    const report = parseSmartctl(text, exitCode);
    console.log(format === "json" ? JSON.stringify(report, null, 2) : smartTable(report));
    return report.parseError === undefined ? 0 : 1;
  }
  const report = parseSensors(text, exitCode);
  console.log(format === "json" ? JSON.stringify(report, null, 2) : sensorsTable(report));
  return report.error === undefined ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
