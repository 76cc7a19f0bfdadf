/**
 * The permission audit: seven named checks that prove, from the runtime's own builders and a
 * live probe, exactly what each op (and the receiver) may do.
 *
 * @module
 */
import { OPS } from "../../ops/mod.ts";
import type { AnyOp } from "../../ops/types.ts";
import { DEFAULT_BIN_PATH, resolveBinaries } from "../fence.ts";
import type { ChildCommand } from "../flags.ts";
import { CHILD_BUNDLE, CHILD_SOURCE } from "../paths.ts";
import { firstExisting, Launcher } from "../launcher.ts";
import { serverDefaults } from "../server/config.ts";
import { buildReceiverCommand } from "../server/receiver_flags.ts";
import { checkArguments } from "./arguments.ts";
import { checkDeclared } from "./declared.ts";
import { checkFlags } from "./flags.ts";
import { checkGraph } from "./graph.ts";
import { account, checkInstall } from "./install.ts";
import { checkProbe } from "./probe.ts";
import { checkReadme } from "./readme.ts";
import { checkSealed } from "./sealed.ts";
import type { AuditReport, CheckResult } from "./types.ts";

const root = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");

/** Options of {@linkcode runAudit}; the defaults audit the project itself. */
export interface AuditOptions {
  /** @default {the registry} */
  readonly ops?: readonly AnyOp[];
  /** @default {"/usr/sbin:/usr/bin:/sbin:/bin"} */
  readonly binPath?: string;
  /** The child's source entry, for the import graph. @default {runtime/child/mod.ts} */
  readonly childEntry?: string;
  /** @default {the project's README.md} */
  readonly readmePath?: string;
  /** Check 6 runs only when given. */
  readonly install?: { readonly dir: string; readonly user: string; readonly denoDir: string };
  /** The builder under audit; tests swap in a broken one. @default {the launcher's} */
  readonly childCommand?: (launcher: Launcher, op: AnyOp) => ChildCommand;
  /** The sealed child under audit (check 8). @default {dist/child.js} */
  readonly bundlePath?: string;
  /** Skip the live probe (check 4). @default {false} */
  readonly skipProbe?: boolean;
}

function skipped(id: string, name: string, why: string): CheckResult {
  return { id, name, status: "skip", messages: [why] };
}

/**
 * Runs every check. Needs read, write (a temp dir), env and run (Deno, the probe).
 *
 * @returns The report; `ok` only when no check failed.
 */
export async function runAudit(options: AuditOptions = {}): Promise<AuditReport> {
  const ops = options.ops ?? OPS;
  const binPath = options.binPath ?? DEFAULT_BIN_PATH;
  const binaries = await resolveBinaries(binPath);
  const denoPath = await Deno.realPath(Deno.execPath());
  const killPath = await firstExisting(["/usr/bin/kill", "/bin/kill"]) ?? "/usr/bin/kill";
  const direct = await Launcher.create({ binPath, binaries, denoPath, killPath });
  const sudo = await Launcher.create({ binPath, binaries, denoPath, killPath, runner: "sudo" });
  const build = options.childCommand ?? ((launcher, op) => launcher.childCommand(op));
  const checks: CheckResult[] = [];

  checks.push(checkDeclared(ops, binaries));

  const stateDir = "/var/lib/rootfence";
  checks.push(checkFlags({
    ops,
    binaries,
    childCommand: (op, runner) => build(runner === "direct" ? direct : sudo, op),
    receiverCommand(runner) {
      const command = buildReceiverCommand({
        config: {
          ...serverDefaults(stateDir),
          binPath,
          mountBase: direct.settings.mountBase,
          runner,
        },
        denoPath,
        configPath: `${root}/deno.json`,
        lockPath: `${root}/deno.lock`,
        entryPath: `${root}/runtime/server/main.ts`,
        killPath,
        binaries,
        denoDir: "/var/cache/deno",
        readFiles: [`${stateDir}/keys.json`],
      });
      const run = runner === "sudo" ? `/usr/bin/sudo,${killPath}` : `${denoPath},${killPath}`;
      return {
        command,
        expected: { net: "127.0.0.1:8787", read: stateDir, write: stateDir, run },
      };
    },
  }));

  checks.push(
    await checkGraph({
      projectRoot: root,
      denoPath,
      childEntry: options.childEntry ?? CHILD_SOURCE,
      childConfig: `${root}/runtime/fence.json`,
      receiverEntry: `${root}/runtime/server/main.ts`,
      receiverConfig: `${root}/deno.json`,
      spawners: ["runtime/launcher.ts"],
    }),
  );

  if (options.skipProbe) checks.push(skipped("live-probe", "Live probe", "skipped on request"));
  else {
    const probeDir = await Deno.makeTempDir({ prefix: "rootfence-audit-state-" });
    try {
      checks.push(await checkProbe(ops, direct, probeDir));
    } finally {
      await Deno.remove(probeDir, { recursive: true });
    }
  }

  checks.push(checkArguments(ops, direct.settings));

  if (options.install === undefined) {
    checks.push(
      skipped("install", "Install check", "run with --install <dir> --service-user <user>"),
    );
  } else {
    const { dir, user, denoDir } = options.install;
    checks.push(
      await checkInstall([dir, denoPath, denoDir], await account(user), [
        direct.settings.mountBase,
      ]),
    );
  }

  checks.push(await checkSealed(options.bundlePath ?? CHILD_BUNDLE));

  const readme = await Deno.readTextFile(options.readmePath ?? `${root}/README.md`);
  checks.push(checkReadme(readme, ops));

  return {
    ok: checks.every((c) => c.status !== "fail"),
    generatedAt: new Date().toISOString(),
    checks,
  };
}
