/**
 * `deno task audit [--out <dir>] [--bin-path <dirs>] [--mount-base <dir>] [--service-user <user>
 * (--install <dir> [--deno <path>] | --sudoers <file>) [--deno-dir <dir>]] [--state-dir <dir>]
 * [--keys-file <file>] [--markdown]`: runs
 * the permission audit, prints a table, writes `audit.json` and `audit.junit.xml`, and
 * exits 0 only when every check holds.
 *
 * @module
 */
import { findOp, OPS } from "../../ops/mod.ts";
import { type BinaryName, FENCE_BINARIES } from "../../ops/types.ts";
import { SettingError, settingFlags, settingsFromFlags, settingsOptions } from "../settings.ts";
import { junitXml } from "./junit.ts";
import { runAudit } from "./mod.ts";
import { flagsTable } from "./readme.ts";
import type { AuditReport } from "./types.ts";
import { HELP, parseCli, printUsage, printUsageError, runCli, UsageError } from "../cli/usage.ts";

const COMMAND = "deno task audit";

/** The ops' settings' flags, e.g. `--mount-base`. */
const SETTINGS = settingFlags(OPS);

const USAGE = `Usage: deno task audit [options]

  --out <dir>            where audit.json and audit.junit.xml go (default ./.rootfence/audit)
  --bin-path <dirs>      where fenced binaries are found (default /usr/sbin:/usr/bin:/sbin:/bin)
  --service-user <user>  check a sudo deployment: nothing its pinned sudoers lines make root
                         load or execute may be changeable by this user (needs --install or
                         --sudoers); decided by access checks run as the user
  --install <dir>        the install dir; the lines checked are those "deno task sudoers"
                         generates for it (with --deno, ${
  SETTINGS.map((f) => `--${f.flag}`).join(", ")
} and --bin-path)...
  --sudoers <file>       ...or those of an installed drop-in, e.g. /etc/sudoers.d/rootfence
  --deno <path>          the Deno binary the generated lines pin (default: this Deno)
${
  SETTINGS.map((f) =>
    `  ${`--${f.flag} <${f.arg}>`.padEnd(22)} ${f.help} (default ${f.fallback}), for every check\n`
  ).join("")
}  --deno-dir <dir>       the Deno cache root's child uses (default /root/.cache/deno)
  --state-dir <dir>      also check a receiver's real state dir and its keys.json, and
                         list what each of its keys can do as root
  --keys-file <file>     list what each key of this keys file can do as root (default
                         <state dir>/keys.json)
  --op <name>            audit only this op (repeat for more; default every op)
  --stand-in <binary>    audit with a stand-in script for this binary (repeat for more)
  --stand-in-missing     stand in for every audited op's binary missing from --bin-path
                         (a CI runner has no pct); the output names each one: such a run
                         proves the fence, not this host
  --markdown             print the README's op -> flags table and exit`;

function table(report: AuditReport): string {
  const stood = Object.keys(report.standIns);
  const header = stood.length === 0 ? [] : [
    `audit: STAND-INS for ${stood.join(", ")}: this run proves the fence, not this host's binaries`,
    "",
  ];
  const lines = report.checks.flatMap((check, i) => {
    const mark = { pass: "PASS", fail: "FAIL", skip: "SKIP" }[check.status];
    return [
      `${String(i + 1).padStart(2)}. ${mark}  ${check.name}`,
      ...check.messages.map((m) => `          ${m}`),
    ];
  });
  const verdict = report.ok ? "audit: every check holds" : "audit: FAILED";
  const suffix = stood.length === 0 ? "" : ` (with stand-ins for ${stood.join(", ")})`;
  return [...header, ...lines, "", verdict + suffix].join("\n");
}

/** The usage error in the install options, if any. */
function installProblem(values: Readonly<Record<string, string | boolean | string[] | undefined>>) {
  const given = (name: string) => values[name] !== undefined;
  if (!given("service-user")) {
    const stray = ["install", "sudoers", "deno", "deno-dir"].find(given);
    return stray === undefined ? undefined : `--${stray} needs --service-user`;
  }
  if (!given("install") && !given("sudoers")) return "--service-user needs --install or --sudoers";
  if (given("sudoers") && given("deno")) {
    return "--deno pins the generated lines; an installed --sudoers already names its Deno";
  }
  for (const name of ["install", "sudoers", "deno", "deno-dir"]) {
    const value = values[name];
    if (typeof value === "string" && !value.startsWith("/")) {
      return `--${name} must be an absolute path, not "${value}"`;
    }
  }
  return undefined;
}

/** Runs the audit CLI and returns its exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let values;
  try {
    values = parseCli({
      args: [...args],
      options: {
        out: { type: "string" },
        "bin-path": { type: "string" },
        install: { type: "string" },
        "service-user": { type: "string" },
        sudoers: { type: "string" },
        deno: { type: "string" },
        ...settingsOptions(OPS),
        "deno-dir": { type: "string" },
        "state-dir": { type: "string" },
        "keys-file": { type: "string" },
        op: { type: "string", multiple: true },
        "stand-in": { type: "string", multiple: true },
        "stand-in-missing": { type: "boolean" },
        markdown: { type: "boolean" },
        help: HELP,
      },
      strict: true,
    }).values;
  } catch (error) {
    if (error instanceof UsageError) return printUsageError(error, COMMAND);
    throw error;
  }
  if (values.help) return printUsage(USAGE);
  if (values.markdown) {
    console.log(flagsTable(OPS));
    return 0;
  }
  const user = values["service-user"];
  const problem = installProblem(values);
  if (problem !== undefined) return printUsageError(problem, COMMAND);
  let settings;
  try {
    settings = settingsFromFlags(OPS, values);
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    return printUsageError(`--${error.flag} "${error.value}": ${error.problem}`, COMMAND);
  }
  const ops = [];
  for (const name of values.op ?? []) {
    const op = findOp(name);
    if (op === undefined) return printUsageError(`--op "${name}": no such op`, COMMAND);
    ops.push(op);
  }
  const standIns: BinaryName[] = [];
  for (const name of values["stand-in"] ?? []) {
    const known = FENCE_BINARIES.find((binary) => binary === name);
    if (known === undefined) {
      return printUsageError(
        `--stand-in "${name}": not a fenced binary (${FENCE_BINARIES.join(", ")})`,
        COMMAND,
      );
    }
    standIns.push(known);
  }
  if (standIns.length > 0 && values["stand-in-missing"]) {
    return printUsageError("--stand-in and --stand-in-missing exclude each other", COMMAND);
  }
  const report = await runAudit({
    ...(ops.length === 0 ? {} : { ops }),
    ...(values["stand-in-missing"] ? { standIns: "missing" as const } : { standIns }),
    ...(values["bin-path"] === undefined ? {} : { binPath: values["bin-path"] }),
    settings,
    ...(values["state-dir"] === undefined ? {} : { stateDir: values["state-dir"] }),
    ...(values["keys-file"] === undefined ? {} : { keysFile: values["keys-file"] }),
    ...(user === undefined ? {} : {
      install: {
        user,
        ...(values.install === undefined ? {} : { dir: values.install }),
        ...(values.sudoers === undefined ? {} : { sudoersPath: values.sudoers }),
        ...(values.deno === undefined ? {} : { denoPath: values.deno }),
        settings,
        denoDir: values["deno-dir"] ?? "/root/.cache/deno",
      },
    }),
  });
  const out = values.out ?? "./.rootfence/audit";
  await Deno.mkdir(out, { recursive: true });
  await Deno.writeTextFile(`${out}/audit.json`, JSON.stringify(report, null, 2) + "\n");
  await Deno.writeTextFile(`${out}/audit.junit.xml`, junitXml(report));
  console.log(table(report));
  console.log(`audit: wrote ${out}/audit.json and ${out}/audit.junit.xml`);
  return report.ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await runCli(main, COMMAND, Deno.args));
