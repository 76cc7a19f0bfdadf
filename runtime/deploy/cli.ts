/**
 * Deployment generators: `deno task sudoers` and `deno task systemd` print (or write with `--out`)
 * what an operator installs, and change nothing else; `deno task keygen` (`keygen.ts`) creates and
 * edits the keys file it is given.
 *
 * @module
 */
import { OPS } from "../../ops/mod.ts";
import { RootfenceError } from "../errors.ts";
import {
  DEFAULT_BIN_PATH,
  DEFAULT_KILL_PATH,
  DEFAULT_SUDO_PATH,
  INSTALL_DEFAULTS,
  RECEIVER_DEFAULTS,
} from "../defaults.ts";
import { resolveBinaries } from "../process/fence.ts";
import { findKill } from "../process/host_paths.ts";
import { secretFilesOf } from "../server/keys.ts";
import { serverDefaults } from "../server/config.ts";
import {
  buildExecutorCommand,
  buildListenerCommand,
  netAddress,
} from "../server/receiver_commands.ts";
import { SettingError, settingFlags, settingsFromFlags, settingsOptions } from "../settings.ts";
import { sudoersFile } from "./sudoers.ts";
import { type SocketActivation, systemdUnits } from "./systemd.ts";
import { keygen, KEYGEN_NOTES, KEYGEN_USAGE } from "./keygen.ts";
import { HELP, parseCli, printUsage, printUsageError, runCli, UsageError } from "../cli/usage.ts";

/** The ops' settings as usage lists them: `[--mount-base <dir>]`. */
const SETTINGS = settingFlags(OPS).map((f) => `[--${f.flag} <${f.arg}>]`).join(" ");

const USAGE = `Usage:
  deno task sudoers --user <svc> --install-dir <dir> [--deno <path>] [--bin-path <dirs>]
                    ${SETTINGS} [--sudo-path <path>] [--out <file>]
  deno task systemd --install-dir <dir> (--user <svc> | --mode direct)
                    [--listener-user <user>] [--state-dir <dir>] [--socket <path>]
                    [--host <addr>] [--port <n>] [--allow <cidr> ...] [--grace <s>]
                    [--listen unix:<path> [--listen-group <group>]] [--socket-activation]
                    [--cert <pem> --key <pem>]
                    [--deno <path>] [--deno-dir <dir>] [--bin-path <dirs>] ${SETTINGS}
                    [--out-dir <dir>]
${KEYGEN_USAGE}

systemd: --mode sudo (the default) runs the executor as the service user --user, whose children
gain root through sudo; --mode direct runs it as root and needs no --user. --listen unix:<path>
adds rootfence-listener.socket: systemd creates the socket (--listen-group may connect, mode 0660)
and hands it to the listener; --socket-activation does the same for --host/--port. --cert and
--key (TLS, TCP only) must be outside /home, /root and /tmp, which the listener unit hides.

${KEYGEN_NOTES}`;

const STRING = { type: "string" } as const;

function required(value: string | undefined, flag: string, absolute = false): string {
  if (value === undefined) throw new UsageError(`--${flag} is required`);
  if (absolute && !value.startsWith("/")) {
    throw new UsageError(`--${flag} must be an absolute path`);
  }
  return value;
}

/** The ops' settings from their flags (defaults for the rest); a refused one is a usage error. */
function settingsOf(values: Readonly<Record<string, unknown>>) {
  try {
    return settingsFromFlags(OPS, values);
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    throw new UsageError(`--${error.flag}: ${error.problem}`);
  }
}

async function emit(text: string, out: string | undefined): Promise<void> {
  if (out === undefined) console.log(text.trimEnd());
  else await Deno.writeTextFile(out, text);
}

async function sudoers(args: string[]): Promise<number> {
  const { values: v } = parseCli({
    args,
    strict: true,
    options: {
      user: STRING,
      "install-dir": STRING,
      deno: STRING,
      "bin-path": STRING,
      ...settingsOptions(OPS),
      "sudo-path": STRING,
      out: STRING,
      help: HELP,
    },
  });
  if (v.help) return printUsage(USAGE);
  const binPath = v["bin-path"] ?? DEFAULT_BIN_PATH;
  const settings = settingsOf(v);
  await emit(
    sudoersFile(OPS, {
      user: required(v.user, "user"),
      installDir: required(v["install-dir"], "install-dir", true),
      denoPath: v.deno ?? await Deno.realPath(Deno.execPath()),
      binaries: await resolveBinaries(binPath),
      settings,
      binPath,
      sudoPath: v["sudo-path"] ?? DEFAULT_SUDO_PATH,
    }),
    v.out,
  );
  return 0;
}

async function systemd(args: string[]): Promise<number> {
  const { values: v } = parseCli({
    args,
    strict: true,
    options: {
      mode: STRING,
      user: STRING,
      "listener-user": STRING,
      "install-dir": STRING,
      "state-dir": STRING,
      "keys-file": STRING,
      socket: STRING,
      host: STRING,
      port: STRING,
      allow: { type: "string", multiple: true },
      grace: STRING,
      listen: STRING,
      "listen-group": STRING,
      "socket-activation": { type: "boolean" },
      cert: STRING,
      key: STRING,
      deno: STRING,
      "deno-dir": STRING,
      "bin-path": STRING,
      ...settingsOptions(OPS),
      "sudo-path": STRING,
      "out-dir": STRING,
      help: HELP,
    },
  });
  if (v.help) return printUsage(USAGE);
  const mode = v.mode ?? INSTALL_DEFAULTS.mode;
  if (mode !== "sudo" && mode !== "direct") throw new UsageError("--mode is sudo or direct");
  if (mode === "sudo" && v.user === undefined) {
    throw new UsageError(
      "--user <svc> is required in --mode sudo (the default); or use --mode direct",
    );
  }
  const user = mode === "sudo" ? v.user! : "root";
  const listenerUser = v["listener-user"] ?? INSTALL_DEFAULTS.listenerUser;
  const installDir = required(v["install-dir"], "install-dir", true);
  const stateDir = v["state-dir"] ?? INSTALL_DEFAULTS.stateDir;
  const keysFile = v["keys-file"] ?? `${stateDir}/keys.json`;
  const port = v.port === undefined ? RECEIVER_DEFAULTS.port : Number(v.port);
  const graceMs = v.grace === undefined ? RECEIVER_DEFAULTS.graceMs : Number(v.grace) * 1000;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError("--port is 1..65535");
  }
  const binPath = v["bin-path"] ?? DEFAULT_BIN_PATH;
  const readFiles = [keysFile, ...await secretFilesOf(keysFile).catch(() => [])];
  const denoPath = v.deno ?? await Deno.realPath(Deno.execPath());
  const host = v.host ?? RECEIVER_DEFAULTS.host;
  const transport = transportOf(v, netAddress(host, port));
  const config = {
    ...serverDefaults(stateDir),
    host,
    port,
    keysFile,
    socket: v.socket ?? INSTALL_DEFAULTS.socket,
    listenerUser,
    binPath,
    settings: settingsOf(v),
    runner: mode,
    sudoPath: v["sudo-path"] ?? DEFAULT_SUDO_PATH,
    graceMs,
    ...transport.files,
  } as const;
  const gid = await groupId(listenerUser);
  const executor = buildExecutorCommand({
    config,
    denoPath,
    configPath: `${installDir}/deno.json`,
    lockPath: `${installDir}/deno.lock`,
    entryPath: `${installDir}/runtime/server/executor.ts`,
    killPath: await findKill() ?? DEFAULT_KILL_PATH,
    binaries: await resolveBinaries(binPath),
    denoDir: v["deno-dir"] ?? INSTALL_DEFAULTS.denoDir,
    readFiles,
    socketGroup: gid,
  });
  const { activation } = transport;
  const listener = buildListenerCommand({
    config,
    denoPath,
    entryPath: `${installDir}/dist/listener.js`,
    ...(activation === undefined ? {} : { listenFd: 3 }),
  });
  const units = systemdUnits({
    mode,
    user,
    listenerUser,
    executor,
    listener,
    stateDir,
    graceMs,
    allow: v.allow ?? [],
    ...(activation === undefined ? {} : { activation }),
  });
  const outDir = v["out-dir"];
  for (const [name, text] of Object.entries(units)) {
    if (outDir === undefined) console.log(`# ${name}\n${text.trimEnd()}\n`);
    else {
      await Deno.writeTextFile(`${outDir}/${name}`, text);
      console.log(`wrote ${outDir}/${name}`);
    }
  }
  return 0;
}

/** Where the listener unit may read files: ProtectHome= and PrivateTmp= hide these. */
const HIDDEN = /^\/(home|root|run\/user|tmp|var\/tmp)(\/|$)/;

/**
 * How the generated listener listens, from the flags: the TLS pair it reads, and whether systemd
 * listens for it, on `tcp` (the `--host`/`--port` address) with `--socket-activation`, and on a
 * Unix socket always: under `ProtectSystem=strict` the listener could not create one, and systemd
 * gives it the proxy's group.
 */
function transportOf(v: Readonly<Record<string, unknown>>, tcp: string): {
  files: { cert?: string; key?: string };
  activation?: SocketActivation;
} {
  const text = (flag: string) => typeof v[flag] === "string" ? v[flag] as string : undefined;
  const [listen, group, cert, key] = ["listen", "listen-group", "cert", "key"].map(text);
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  for (const [flag, path] of [["cert", cert], ["key", key]] as const) {
    if (path === undefined) continue;
    if (!path.startsWith("/") || path.includes(",")) {
      throw new UsageError(`--${flag} must be an absolute path without commas`);
    }
    if (HIDDEN.test(path)) {
      throw new UsageError(
        `--${flag} ${path}: the listener unit cannot see it (ProtectHome=, PrivateTmp=); ` +
          `put it under /etc/rootfence`,
      );
    }
  }
  const files = { ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
  if (listen === undefined) {
    if (group !== undefined) throw new UsageError("--listen-group needs --listen unix:<path>");
    return v["socket-activation"] ? { files, activation: { listen: tcp } } : { files };
  }
  if (v.host !== undefined || v.port !== undefined) {
    throw new UsageError("--listen replaces --host and --port: give one or the other");
  }
  const path = /^unix:(\/[^\0,\s]{1,100})$/.exec(listen)?.[1];
  if (path === undefined) throw new UsageError("--listen is unix:<absolute path>");
  if (cert !== undefined) {
    throw new UsageError("--cert is for TCP: the proxy in front of a Unix socket terminates TLS");
  }
  if (group !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(group)) {
    throw new UsageError("--listen-group is a group name");
  }
  return { files, activation: { listen: path, ...(group === undefined ? {} : { group }) } };
}

async function groupId(name: string): Promise<number> {
  let output;
  try {
    output = await new Deno.Command("id", { args: ["-g", "--", name], stderr: "null" }).output();
  } catch {
    throw new UsageError("Cannot look up the listener's user: no id binary");
  }
  if (output.code !== 0) {
    throw new UsageError(
      `Cannot find user "${name}": create it first (useradd --system --no-create-home ` +
        `--shell /usr/sbin/nologin ${name}) or pass --listener-user`,
    );
  }
  return Number(new TextDecoder().decode(output.stdout).trim());
}

/** Runs one generator and returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  const run = {
    sudoers,
    systemd,
    keygen: (rest: string[]) => keygen(rest, USAGE),
  }[command as "sudoers"];
  if (run === undefined) {
    return printUsageError(
      `Cannot run "${command}": use sudoers, systemd or keygen`,
      "deno task sudoers",
    );
  }
  try {
    return await run(rest);
  } catch (error) {
    if (error instanceof UsageError || error instanceof RangeError || error instanceof TypeError) {
      return printUsageError(error, `deno task ${command}`);
    }
    if (error instanceof RootfenceError) {
      // For example pct missing: the files pin real paths, so generate them on the host itself.
      console.error(
        `${error.message} (generate on the host that runs the ops, or pass --bin-path)`,
      );
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) {
  Deno.exit(await runCli(main, `deno task ${Deno.args[0] ?? "keygen"}`, Deno.args));
}
