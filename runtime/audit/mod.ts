/**
 * The permission audit: named checks that prove, from the runtime's own builders and live
 * probes, exactly what each op, the listener and the executor may do.
 *
 * @module
 */
import { OPS } from "../../ops/mod.ts";
import type { AnyOp, BinaryName, OpSettings } from "../../ops/types.ts";
import {
  DEFAULT_BIN_PATH,
  DEFAULT_KILL_PATH,
  DEFAULT_SUDO_PATH,
  INSTALL_DEFAULTS,
  RECEIVER_DEFAULTS,
} from "../defaults.ts";
import { resolveBinaries } from "../process/fence.ts";
import type { ChildCommand } from "../process/child_command.ts";
import { CHILD, CHILD_BUNDLE, CHILD_SOURCE, LISTENER } from "../paths.ts";
import { defaultDenoDir, findKill } from "../process/host_paths.ts";
import { Launcher } from "../process/launcher.ts";
import { type ServerConfig, serverDefaults } from "../server/config.ts";
import {
  buildExecutorCommand,
  buildListenerCommand,
  CHECKPOINT_WORKER,
  type ReceiverCommand,
} from "../server/receiver_commands.ts";
import { checkArguments } from "./arguments.ts";
import { checkDeclared } from "./declared.ts";
import { checkFlags } from "./actual_flags.ts";
import { checkGraph } from "./graph.ts";
import { checkInstall, type InstallTarget } from "./install.ts";
import { checkKeyScopes } from "./key_scopes.ts";
import { checkWriteBases } from "./write_base.ts";
import { checkProbe } from "./live_probe.ts";
import { checkReadme } from "./readme.ts";
import { checkSealed } from "./sealed.ts";
import { checkUnits } from "./units.ts";
import { createStandIns } from "./stand_in.ts";
import { checkState } from "./state.ts";
import { checkReceiverProbe } from "./receiver_live.ts";
import { systemdUnits } from "../deploy/systemd.ts";
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
  readonly install?: InstallTarget;
  /** The builder under audit; tests swap in a broken one. @default {the launcher's} */
  readonly childCommand?: (launcher: Launcher, op: AnyOp) => ChildCommand;
  /** The sealed child under audit (check 8). @default {dist/child.js} */
  readonly bundlePath?: string;
  /**
   * The host settings under audit by name, e.g. `{ mountBase: "/srv/usb" }` for the mount-base
   * check; every setting left out gets its default.
   * @default {every default}
   */
  readonly settings?: OpSettings;
  /** A receiver's real state dir, checked with its `keys.json` by the state check. */
  readonly stateDir?: string;
  /**
   * The keys file whose keys the key check lists (what each can do as root); the check is
   * skipped without it.
   * @default {`<stateDir>/keys.json` when `stateDir` is given}
   */
  readonly keysFile?: string;
  /** Skip the live probe (check 4). @default {false} */
  readonly skipProbe?: boolean;
  /**
   * Binaries to replace with stand-ins (see `stand_in.ts`), or `"missing"` for each audited
   * op's binary that is not on the bin path. The report lists them.
   * @default {[]}
   */
  readonly standIns?: readonly BinaryName[] | "missing";
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
  const hostBinPath = options.binPath ?? DEFAULT_BIN_PATH;
  const found = await resolveBinaries(hostBinPath);
  const wanted = options.standIns === "missing"
    ? [...new Set(ops.flatMap((op) => op.permissions.run))].filter((name) => !found[name])
    : options.standIns ?? [];
  const standIns = wanted.length === 0 ? undefined : await createStandIns(wanted);
  try {
    const binPath = standIns === undefined ? hostBinPath : `${standIns.dir}:${hostBinPath}`;
    const report = await audit(options, ops, binPath);
    return { ...report, standIns: standIns?.paths ?? {} };
  } finally {
    if (standIns !== undefined) await Deno.remove(standIns.dir, { recursive: true });
  }
}

async function audit(
  options: AuditOptions,
  ops: readonly AnyOp[],
  binPath: string,
): Promise<Omit<AuditReport, "standIns">> {
  const binaries = await resolveBinaries(binPath);
  const denoPath = await Deno.realPath(Deno.execPath());
  const killPath = await findKill() ?? DEFAULT_KILL_PATH;
  const given = options.settings ?? {};
  const direct = await Launcher.create({ binPath, settings: given, binaries, denoPath, killPath });
  const sudo = await Launcher.create({
    binPath,
    settings: given,
    binaries,
    denoPath,
    killPath,
    runner: "sudo",
  });
  const build = options.childCommand ?? ((launcher, op) => launcher.childCommand(op));
  const checks: CheckResult[] = [];

  checks.push(checkDeclared(ops, binaries, direct.settings));

  const stateDir = INSTALL_DEFAULTS.stateDir;
  const executorFor = (config: ServerConfig, denoDir: string, readFiles: string[]) =>
    buildExecutorCommand({
      config,
      denoPath,
      configPath: `${root}/deno.json`,
      lockPath: `${root}/deno.lock`,
      entryPath: `${root}/runtime/server/executor.ts`,
      killPath,
      binaries,
      denoDir,
      readFiles,
    });
  const receiverCommands = (runner: "direct" | "sudo") => {
    const config = {
      ...serverDefaults(stateDir),
      binPath,
      settings: direct.settings,
      runner,
    };
    return {
      socket: config.socket,
      executor: executorFor(config, "/var/cache/deno", [`${stateDir}/keys.json`]),
      listener: buildListenerCommand({ config, denoPath, entryPath: LISTENER.bundle }),
    };
  };
  // The listener's other transports, each with exactly the grants it needs and no more.
  const listenerVariants = (runner: "direct" | "sudo") => {
    const config = { ...serverDefaults(stateDir), binPath, settings: direct.settings, runner };
    const { socket } = config;
    const cert = "/etc/rootfence/tls.pem";
    const key = "/etc/rootfence/tls.key";
    const path = "/run/rootfence-http/listener.sock";
    const build = (changes: Partial<typeof config>, listenFd?: number) =>
      buildListenerCommand({
        config: { ...config, ...changes },
        denoPath,
        entryPath: LISTENER.bundle,
        ...(listenFd === undefined ? {} : { listenFd }),
      });
    return [
      {
        variant: "with TLS",
        command: build({ cert, key }),
        expected: {
          net: `127.0.0.1:8787,unix:${socket}`,
          read: `${socket},${cert},${key}`,
          write: socket,
          sys: "uid",
        },
      },
      {
        variant: "on a Unix socket",
        command: build({ listenPath: path }),
        expected: {
          net: `unix:${path},unix:${socket}`,
          read: `${socket},${path}`,
          write: `${socket},${path}`,
          sys: "uid",
        },
      },
      {
        variant: "socket-activated",
        command: build({ listenPath: path }, 3),
        expected: { net: `unix:${socket}`, read: socket, write: socket },
      },
    ];
  };
  const receiverUnits = {
    sudo: unitsFor("sudo", receiverCommands("sudo")),
    direct: unitsFor("direct", receiverCommands("direct")),
  };
  checks.push(checkFlags({
    ops,
    binaries,
    settings: direct.settings,
    childCommand: (op, runner) => build(runner === "direct" ? direct : sudo, op),
    receiverCommands(runner) {
      const { socket, executor, listener } = receiverCommands(runner);
      const run = runner === "sudo"
        ? `${DEFAULT_SUDO_PATH},${killPath}`
        : `${denoPath},${killPath}`;
      return [
        {
          process: "executor",
          command: executor,
          expected: {
            net: `unix:${socket}`,
            // The state, and the journal's checkpoint worker: a module loaded at run time.
            read: `${stateDir},${root}/runtime/server/${CHECKPOINT_WORKER}`,
            write: stateDir,
            run,
            sys: "uid,osUptime",
          },
        },
        {
          process: "listener",
          command: listener,
          expected: { net: `127.0.0.1:8787,unix:${socket}`, read: socket, write: socket },
        },
        ...listenerVariants(runner).map(({ variant, command, expected }) => ({
          process: "listener" as const,
          variant,
          command,
          expected,
        })),
      ];
    },
  }));

  checks.push(
    await checkGraph({
      projectRoot: root,
      denoPath,
      childEntry: options.childEntry ?? CHILD_SOURCE,
      childConfig: `${root}/runtime/process/fence.json`,
      receiverEntry: `${root}/runtime/server/executor.ts`,
      listenerEntry: LISTENER.source,
      receiverConfig: `${root}/deno.json`,
      spawners: ["runtime/process/launcher.ts"],
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
    checks.push(
      await checkInstall({
        settings: direct.settings,
        ...options.install,
        ops,
        binaries,
        binPath,
      }),
    );
  }

  checks.push(
    await checkSealed([
      { what: CHILD, path: options.bundlePath ?? CHILD_BUNDLE },
      { what: LISTENER, path: LISTENER.bundle },
    ]),
  );

  checks.push(...await checkWriteBases(ops, direct.settings));

  if (!options.skipProbe) {
    checks.push(
      await checkReceiverProbe((scene) => {
        const config = {
          ...serverDefaults(scene.stateDir),
          port: scene.port,
          socket: scene.socket,
        };
        return {
          listener: buildListenerCommand({ config, denoPath, entryPath: LISTENER.bundle }),
          "listener socket-activated": buildListenerCommand({
            config,
            denoPath,
            entryPath: LISTENER.bundle,
            listenFd: 3,
          }),
          executor: executorFor(
            config,
            defaultDenoDir() ?? `${Deno.env.get("HOME")}/.cache/deno`,
            [],
          ),
        };
      }),
    );
  }

  checks.push(await checkUnits(receiverUnits));

  checks.push(
    await checkState(
      options.stateDir === undefined
        ? undefined
        : { stateDir: options.stateDir, keysFile: `${options.stateDir}/keys.json` },
    ),
  );

  const readme = await Deno.readTextFile(options.readmePath ?? `${root}/README.md`);
  // The README's table lists every registered op, however few this run audits.
  checks.push(checkReadme(readme, ops.every((op) => OPS.includes(op)) ? OPS : ops));

  const keysFile = options.keysFile ??
    (options.stateDir === undefined ? undefined : `${options.stateDir}/keys.json`);
  checks.push(await checkKeyScopes(keysFile, direct.settings));

  return {
    ok: checks.every((c) => c.status !== "fail"),
    generatedAt: new Date().toISOString(),
    checks,
  };
}

function unitsFor(
  mode: "sudo" | "direct",
  commands: { executor: ReceiverCommand; listener: ReceiverCommand },
) {
  return systemdUnits({
    mode,
    user: "rootfence",
    listenerUser: INSTALL_DEFAULTS.listenerUser,
    executor: commands.executor,
    listener: commands.listener,
    stateDir: INSTALL_DEFAULTS.stateDir,
    graceMs: RECEIVER_DEFAULTS.graceMs,
    allow: [],
  });
}
