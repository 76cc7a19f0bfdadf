/**
 * The pure half of `deno task chaos`: what one fault's run recorded, whether each figure meets
 * its target, the fault's verdict, and RELIABILITY.md rendered from them. Nothing here measures
 * or touches the system, so it is table-tested (bench/chaos_test.ts).
 *
 * @module
 */

/** How a figure is compared with its target. */
export type Comparison = "<=" | ">=" | "==";

/** What a figure must be for its fault to pass. */
export interface Target {
  readonly op: Comparison;
  readonly value: number | string;
}

/** One measured value of a fault's run. */
export interface Figure {
  readonly name: string;
  /** As observed; `NaN` when it could not be measured (which never meets a target). */
  readonly value: number | string;
  readonly unit?: string;
  /** Without one the figure is reported, not judged. */
  readonly target?: Target;
}

/** Everything one fault's run produced. */
export interface FaultRun {
  readonly id: string;
  readonly title: string;
  readonly setup: string;
  readonly promise: string;
  /** What happened, in sentences built from the figures. */
  readonly observed: string;
  readonly figures: readonly Figure[];
  /** How long the phase took, in seconds. */
  readonly seconds: number;
  /** The phase itself failed (threw or timed out): a miss, with what it had measured by then. */
  readonly error?: string;
  /** Why the phase could not run here at all. */
  readonly skipped?: string;
}

/** A fault's verdict. */
export type Verdict = "PASS" | "MISS" | "SKIP";

/**
 * Whether a figure meets its target: `undefined` when it has none. A string is only ever equal
 * or not; a number compared with a string, or `NaN`, never meets anything.
 *
 * @example
 * ```ts
 * import { meets } from "./_chaos_report.ts";
 * import assert from "node:assert/strict";
 * assert.equal(meets({ name: "overlap", value: 0, target: { op: "==", value: 0 } }), true);
 * assert.equal(meets({ name: "p99", value: NaN, target: { op: "<=", value: 1000 } }), false);
 * ```
 */
export function meets(figure: Figure): boolean | undefined {
  const { target, value } = figure;
  if (target === undefined) return undefined;
  if (typeof value !== typeof target.value) return false;
  if (typeof value === "number" && Number.isNaN(value)) return false;
  switch (target.op) {
    case "==":
      return value === target.value;
    case "<=":
      return typeof value === "number" && value <= (target.value as number);
    case ">=":
      return typeof value === "number" && value >= (target.value as number);
  }
}

/**
 * A fault's verdict, from its figures alone: it passes only when it ran to the end, judged at
 * least one figure and every judged figure met its target.
 *
 * @example
 * ```ts
 * import { verdictOf } from "./_chaos_report.ts";
 * import assert from "node:assert/strict";
 * const run = { id: "1", title: "t", setup: "", promise: "", observed: "", seconds: 1 };
 * assert.equal(verdictOf({ ...run, figures: [] }), "MISS");
 * ```
 */
export function verdictOf(run: FaultRun): Verdict {
  if (run.skipped !== undefined) return "SKIP";
  if (run.error !== undefined) return "MISS";
  const judged = run.figures.filter((f) => f.target !== undefined);
  if (judged.length === 0) return "MISS";
  return judged.every((f) => meets(f) === true) ? "PASS" : "MISS";
}

/** A number as a report shows it: integers as they are, others to three significant places. */
export function formatValue(value: number | string, unit?: string): string {
  let text: string;
  if (typeof value === "string") text = value;
  else if (Number.isNaN(value)) text = "not measured";
  else if (Number.isInteger(value)) text = String(value);
  else if (Math.abs(value) >= 100) text = value.toFixed(0);
  else if (Math.abs(value) >= 1) text = value.toFixed(2);
  else text = value.toFixed(3);
  return unit === undefined || typeof value === "string" || Number.isNaN(value)
    ? text
    : `${text} ${unit}`;
}

function formatTarget(figure: Figure): string {
  const { target } = figure;
  if (target === undefined) return "";
  const value = typeof target.value === "string"
    ? `"${target.value}"`
    : formatValue(target.value, figure.unit);
  return `${target.op === "==" ? "=" : target.op === "<=" ? "≤" : "≥"} ${value}`;
}

/** A table cell: no pipes or newlines. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** A Markdown table, padded the way `deno fmt` pads one. */
export function markdownTable(head: readonly string[], rows: readonly string[][]): string {
  const all = [head, ...rows].map((row) => row.map(cell));
  const widths = head.map((_, i) => Math.max(3, ...all.map((row) => [...row[i] ?? ""].length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((c, i) => c + " ".repeat(widths[i]! - [...c].length)).join(" | ")} |`;
  return [
    line(all[0]!),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...all.slice(1).map(line),
  ].join("\n");
}

/** The figures of one fault as a table: value, target and whether it was met. */
export function figureTable(figures: readonly Figure[]): string {
  return markdownTable(
    ["figure", "observed", "target", "met"],
    figures.map((f) => {
      const met = meets(f);
      return [
        f.name,
        formatValue(f.value, f.unit),
        formatTarget(f),
        met === undefined ? "" : met ? "yes" : "**no**",
      ];
    }),
  );
}

/** How and where the run was made, for the report's header. */
export interface RunInfo {
  readonly command: string;
  readonly date: string;
  readonly machine: Readonly<Record<string, string>>;
  readonly mode: string;
  readonly seconds: number;
}

/**
 * Renders RELIABILITY.md: how it was generated, a summary, then per fault its setup, promise,
 * observed outcome, figures and verdict.
 *
 * @example
 * ```ts
 * import { renderReliability } from "./_chaos_report.ts";
 * import assert from "node:assert/strict";
 * const text = renderReliability(
 *   { command: "deno task chaos", date: "2026-01-01", machine: {}, mode: "full", seconds: 1 },
 *   [],
 * );
 * assert.match(text, /^# Reliability/);
 * ```
 */
export function renderReliability(info: RunInfo, runs: readonly FaultRun[]): string {
  const verdicts = runs.map(verdictOf);
  const count = (v: Verdict) => verdicts.filter((x) => x === v).length;
  const missed = (run: FaultRun) =>
    run.figures.filter((f) => meets(f) === false).map((f) => f.name).join("; ");
  const summary = markdownTable(
    ["#", "fault", "verdict", "missed"],
    runs.map((run, i) => [
      run.id,
      run.title,
      verdicts[i] === "PASS" ? "PASS" : `**${verdicts[i]}**`,
      run.error !== undefined ? "the phase failed (see below)" : run.skipped ?? missed(run),
    ]),
  );
  const sections = runs.map((run, i) => {
    const parts = [
      `## ${run.id}. ${run.title}`,
      `**Setup.** ${run.setup}`,
      `**Promise.** ${run.promise}`,
    ];
    if (run.skipped !== undefined) parts.push(`**Not run.** ${run.skipped}`);
    else {
      if (run.observed !== "") parts.push(`**Observed.** ${run.observed}`);
      if (run.error !== undefined) {
        parts.push(
          `**The phase failed** after ${
            formatValue(run.seconds, "s")
          }:\n\n\`\`\`\n${run.error}\n\`\`\``,
        );
      }
      if (run.figures.length > 0) parts.push(figureTable(run.figures));
    }
    parts.push(`**Verdict: ${verdicts[i]}** (phase took ${formatValue(run.seconds, "s")})`);
    return parts.join("\n\n");
  });
  const machine = Object.entries(info.machine).map(([k, v]) => `- ${k}: ${v}`);
  return [
    "# Reliability",
    `Generated by \`${info.command}\` (bench/chaos.ts) on ${info.date}, in ${
      formatValue(info.seconds, "s")
    } (${info.mode} run). Every figure below is from that run, as measured, including the ones ` +
    "that miss. A fault passes only when every figure with a target meets it; the verdicts are " +
    "computed from the figures, never written by hand. The promises are the README's " +
    "guarantees. Where those name no number, the number is this run's own: seconds to recover or " +
    "to end within a few seconds, `/healthz` within 1 s (a monitor's usual probe timeout), RSS " +
    "within BENCHMARKS.md's 200 MiB, descriptors under half the units' `LimitNOFILE`. Each " +
    "phase starts the real receiver " +
    "(`deno task start`: starter, listener and executor, with the real fenced launcher) on port " +
    "0 and a state dir of its own, with recording fakes of the host commands on its bin path.",
    machine.join("\n"),
    `## Summary\n\n${count("PASS")} passed, ${count("MISS")} missed, ${count("SKIP")} not run.`,
    summary,
    ...sections,
  ].join("\n\n") + "\n";
}
