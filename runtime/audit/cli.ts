/**
 * `deno task audit [--out <dir>] [--bin-path <dirs>] [--install <dir> --service-user <user>
 * [--deno-dir <dir>]] [--markdown]`: runs the permission audit, prints a table, writes
 * `audit.json` and `audit.junit.xml`, and exits 0 only when every check holds.
 *
 * @module
 */
import { OPS } from "../../ops/mod.ts";
import { parseArgs } from "../args.ts";
import { junitXml } from "./junit.ts";
import { runAudit } from "./mod.ts";
import { flagsTable } from "./readme.ts";
import type { AuditReport } from "./types.ts";

const USAGE = `Usage: deno task audit [options]

  --out <dir>            where audit.json and audit.junit.xml go (default ./.rootfence/audit)
  --bin-path <dirs>      where fenced binaries are found (default /usr/sbin:/usr/bin:/sbin:/bin)
  --install <dir>        check a deployment: nothing root runs may be writable by...
  --service-user <user>  ...this user (needs --install)
  --deno-dir <dir>       the Deno cache root uses (default /root/.cache/deno)
  --markdown             print the README's op -> flags table and exit`;

function table(report: AuditReport): string {
  const lines = report.checks.flatMap((check, i) => {
    const mark = { pass: "PASS", fail: "FAIL", skip: "SKIP" }[check.status];
    return [
      `${String(i + 1).padStart(2)}. ${mark}  ${check.name}`,
      ...check.messages.map((m) => `          ${m}`),
    ];
  });
  return [...lines, "", report.ok ? "audit: every check holds" : "audit: FAILED"].join("\n");
}

/** Runs the audit CLI and returns its exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        out: { type: "string" },
        "bin-path": { type: "string" },
        install: { type: "string" },
        "service-user": { type: "string" },
        "deno-dir": { type: "string" },
        markdown: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.markdown) {
    console.log(flagsTable(OPS));
    return 0;
  }
  if ((values.install === undefined) !== (values["service-user"] === undefined)) {
    console.error(`--install and --service-user go together\n\n${USAGE}`);
    return 2;
  }
  const report = await runAudit({
    ...(values["bin-path"] === undefined ? {} : { binPath: values["bin-path"] }),
    ...(values.install === undefined ? {} : {
      install: {
        dir: values.install,
        user: values["service-user"]!,
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

if (import.meta.main) Deno.exit(await main(Deno.args));
