/**
 * Check 7, README drift: the op → flags table in the README must be exactly the one
 * `deno task audit --markdown` generates from the declared sets.
 *
 * @module
 */
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { settingFlags } from "../settings.ts";
import { type CheckResult, result } from "./types.ts";

/** Markers around the generated table in the README. */
export const TABLE_START = "<!-- audit:flags:start -->";
export const TABLE_END = "<!-- audit:flags:end -->";

/** Settings that read as placeholders (`<mount base>`), so the table names no machine path. */
function placeholders(ops: readonly AnyOp[]): OpSettings {
  return Object.fromEntries(
    settingFlags(ops).map((f) => [f.name, `<${f.flag.replaceAll("-", " ")}>`]),
  );
}

/** The op → flags table, from the declared data only (no machine paths). */
export function flagsTable(ops: readonly AnyOp[]): string {
  const PLACEHOLDER = placeholders(ops);
  const rows = ops.map((op) => {
    const run = op.permissions.run.map((name) => `<${name}>`).join(",");
    const paths = op.paths?.(PLACEHOLDER);
    const files = (kind: "read" | "write") =>
      paths?.[kind].length ? `\`--allow-${kind}=${paths[kind].join(",")}\`` : "none";
    const seconds = op.timeoutMs / 1000;
    const timeout = seconds >= 60 ? `${seconds / 60} min` : `${seconds} s`;
    return `| \`${op.name}\` | \`--allow-run=${run}\` | ${files("read")} | ${
      files("write")
    } | none | ${op.mutates ? "yes" : "no"} | ${timeout} |`;
  });
  return [
    "| op | run | read | write | every other grant | mutates | timeout |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

/** A table's cells row by row, whitespace and divider padding ignored (`deno fmt` pads). */
function cells(table: string): string {
  return table.trim().split("\n").map((row) =>
    row.split("|").map((cell) => cell.trim().replace(/^-+$/, "-")).join("|")
  ).join("\n");
}

/** Runs check 7 on the README text. */
export function checkReadme(readme: string, ops: readonly AnyOp[]): CheckResult {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) {
    return result("readme-drift", "README drift", [
      `the README has no ${TABLE_START} ... ${TABLE_END} block`,
    ], []);
  }
  const committed = readme.slice(start + TABLE_START.length, end);
  const generated = flagsTable(ops);
  return result(
    "readme-drift",
    "README drift",
    cells(committed) === cells(generated)
      ? []
      : ["the README's flags table differs from `deno task audit --markdown`; regenerate it"],
    ["the README's flags table matches the declared sets"],
    { generated },
  );
}
