/**
 * `deno task op`: runs one op through the fenced launcher and prints one JSON document. An op
 * that streams progress (`create-golden-lxc`) shows its lines on stderr as they come.
 *
 * Exit codes: 0 when the op succeeded, 1 when it failed or its result failed the op's
 * `--fail-on` check, 2 for invalid input or usage.
 *
 * @module
 */
import { findOp, OPS } from "../../ops/mod.ts";
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { fieldFlags, fieldOptions, inputFrom } from "./field_options.ts";
import { parseCli, printUsageError, runCli, UsageError } from "./usage.ts";
import { RootfenceError } from "../errors.ts";
import { DEFAULT_BIN_PATH, DEFAULT_RUNNER } from "../defaults.ts";
import { Launcher } from "../process/launcher.ts";
import { MAX_TIMEOUT_MS } from "../process/fenced_child.ts";
import type { Progress } from "../process/protocol.ts";
import { failOnExit } from "./fail_on.ts";
import { settingFlags, settingsFromFlags, settingsOptions } from "../settings.ts";
import { serverFlag } from "../server/config.ts";

const COMMON = {
  input: { type: "string" },
  "dry-run": { type: "boolean" },
  timeout: { type: "string" },
  "bin-path": { type: "string" },
  runner: { type: "string" },
  format: { type: "string" },
  "fail-on": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** `a`, `a and b`, `a, b and c`. */
function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/** The ops' settings, as the common options list them. */
const SETTINGS_HELP = settingFlags(OPS).map((f) =>
  `  ${`--${f.flag} <${f.arg}>`.padEnd(20)} ${f.help} (${f.env};\n${
    " ".repeat(23)
  }default ${f.fallback})\n`
).join("");

/** The ops that render a result for `--format table`. */
const TABLE_OPS = OPS.filter((op) => op.render !== undefined).map((op) => op.name);

/** The ops with a `--fail-on` check: their levels and default. */
const FAIL_ON_HELP = OPS.flatMap(({ name, failOn }) =>
  failOn === undefined ? [] : [`${name}: ${failOn.levels.join("|")}, default ${failOn.fallback}`]
).join("; ");

const COMMON_HELP = `Common options:
  --input <json>|-     the whole input as JSON (- reads stdin); field flags override it
  --dry-run            validate and print the argv and Deno flags; run nothing
  --timeout <s>        kill the op's process tree after this many seconds
  --bin-path <dirs>    where fenced binaries are found (ROOTFENCE_BIN_PATH;
                       default ${DEFAULT_BIN_PATH})
${SETTINGS_HELP}  --runner direct|sudo run children directly (as root) or through sudo -n
  --format json|table  table: a compact human summary (${listed(TABLE_OPS)} only)
  --fail-on <level>    exit 1 when a result that succeeded fails the op's check
                       (${FAIL_ON_HELP})`;

function mainHelp(): string {
  const width = Math.max(...OPS.map((op) => op.name.length));
  const lines = OPS.map((op) => `  ${op.name.padEnd(width)}  ${op.summary}`);
  return `Usage: deno task op <op> [--<field> <value> ...] [options]\n\nOps:\n${
    lines.join("\n")
  }\n\n${COMMON_HELP}\n\nSee deno task op <op> --help for an op's fields.`;
}

function opHelp(op: AnyOp, settings: OpSettings): string {
  const flags = fieldFlags(op, settings);
  const names = flags.map((f) =>
    f.type === "boolean" ? `--${f.flag}` : `--${f.flag} <${f.values?.join("|") ?? f.type}>`
  );
  // Descriptions line up in one column; a name too long for it puts its description below.
  const width = Math.min(26, Math.max(0, ...names.map((name) => name.length)));
  const fields = flags.map((f, i) => {
    const name = names[i]!;
    const text = `${f.description}${f.required ? " (required)" : ""}`;
    return name.length > width
      ? `  ${name}
  ${" ".repeat(width)}  ${text}`
      : `  ${name.padEnd(width)}  ${text}`;
  });
  return `Usage: deno task op ${op.name} [fields] [options]\n\n${op.summary}\n` +
    `Runs: ${op.permissions.run.join(", ")} (timeout ${op.timeoutMs / 1000} s)\n\nFields:\n${
      fields.length ? fields.join("\n") : "  (none)"
    }\n\n${COMMON_HELP}`;
}

function print(document: unknown): void {
  console.log(JSON.stringify(document, null, 2));
}

/**
 * Runs the CLI on `args` and returns its exit code.
 *
 * Needs the launcher's permissions (see `runtime/process/launcher.ts`).
 */
export async function main(args: readonly string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name.startsWith("-")) {
    console.log(mainHelp());
    return name === "--help" || name === "-h" ? 0 : 2;
  }
  const op = findOp(name);
  if (op === undefined) {
    console.error(
      `Cannot run op "${name}": no such op (known: ${OPS.map((o) => o.name).join(", ")})`,
    );
    return 2;
  }
  try {
    return await runOp(op, rest);
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof RangeError)) throw error;
    return printUsageError(error, `deno task op ${op.name}`);
  }
}

async function runOp(op: AnyOp, rest: readonly string[]): Promise<number> {
  const common = { ...COMMON, ...settingsOptions(OPS) };
  const preliminary = parseCli({ args: [...rest], options: common, strict: false });
  // The settings shape the fields (mount targets lie inside the mount base), so they come first.
  const settings = settingsFromFlags(OPS, preliminary.values, { env: (n) => Deno.env.get(n) });
  const flags = fieldFlags(op, settings);
  const options = { ...common, ...fieldOptions(flags) };
  const { values } = parseCli({ args: [...rest], options, strict: true, allowPositionals: false });
  if (values.help) {
    console.log(opHelp(op, settings));
    return 0;
  }
  const runner = values.runner ?? DEFAULT_RUNNER;
  if (runner !== "direct" && runner !== "sudo") {
    throw new UsageError(`Cannot use --runner "${runner}": use direct or sudo`);
  }
  const format = values.format ?? "json";
  if (format !== "json" && !(format === "table" && op.render !== undefined)) {
    throw new UsageError(`Cannot use --format "${format}" for "${op.name}"`);
  }
  const exitOf = failOnExit(op, values["fail-on"]);
  const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout) * 1000;
  if (timeoutMs !== undefined && !(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
    throw new UsageError(`Cannot use --timeout "${values.timeout}": give seconds up to 86400`);
  }
  const input = await inputFrom(flags, values);
  const binPath = serverFlag("bin-path", values["bin-path"], (name) => Deno.env.get(name));
  const launcher = await Launcher.create({ binPath, settings, runner });
  if (values["dry-run"]) {
    // A preview works without the binaries: a missing one shows as a marked placeholder.
    const unresolved = op.permissions.run.filter((name) => launcher.binaries[name] === undefined);
    const marked = Object.fromEntries(unresolved.map((name) => [name, `<${name}: not found>`]));
    const preview = unresolved.length === 0 ? launcher : await Launcher.create({
      binPath,
      binaries: { ...launcher.binaries, ...marked },
      settings,
      runner,
    });
    return dryRun(preview, op, input, unresolved);
  }
  const invocation = await launcher.invoke(op, input, {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    onProgress: (progress) => console.error(progressLine(op, progress)),
  });
  if (format === "table") {
    console.log(
      invocation.ok ? op.render!(invocation.result) : [
        `Error [${invocation.error?.code}]: ${invocation.error?.message}`,
        ...issueLines(invocation.error?.issues),
      ].join("\n"),
    );
  } else {
    print(invocation);
  }
  if (invocation.ok) return exitOf(invocation.result);
  return invocation.error?.code === "invalid_input" ? 2 : 1;
}

/**
 * A progress line of a long op (`pct create` takes minutes) as stderr shows it while the op
 * runs; stdout keeps the one JSON document. The line was checked to hold no control character
 * but tab, so a host command's output cannot move the operator's cursor or recolour the screen.
 */
function progressLine(op: AnyOp, progress: Progress): string {
  if ("truncated" in progress) return `${op.name}: (more output, not shown)`;
  return `${op.name}: ${progress.line}${progress.cut ? " (cut)" : ""}`;
}

/** One line per invalid field: its flag and the rule in words. */
function issueLines(issues: unknown): string[] {
  if (!Array.isArray(issues)) return [];
  return issues.map((issue: { path?: unknown[]; message?: string }) => {
    const field = (issue.path ?? []).map(String).join(".");
    return `  ${
      field === "" ? "input" : `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
    }: ${issue.message ?? "is not valid"}`;
  });
}

function dryRun(launcher: Launcher, op: AnyOp, input: unknown, unresolved: string[]): number {
  let argv: string[] = [];
  try {
    argv = launcher.hostArgv(op, input);
    const { command, args, env, denoFlags } = launcher.childCommand(op);
    const child = { command, args, env };
    print({ op: op.name, ok: true, dryRun: true, argv, denoFlags, child, unresolved });
    if (unresolved.length > 0) {
      console.error(
        `rootfence: not on the bin path: ${unresolved.join(", ")}; a real run fails with ` +
          "binary_not_found",
      );
    }
    return 0;
  } catch (error) {
    if (!(error instanceof RootfenceError)) throw error;
    print({ op: op.name, ok: false, dryRun: true, argv, error: error.toJSON() });
    return error.code === "invalid_input" ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await runCli(main, "deno task op", Deno.args));
