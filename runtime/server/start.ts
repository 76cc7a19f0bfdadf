/**
 * `deno task start`: prepares the state dir and keys, resolves every path once, then starts the
 * receiver's two processes under their own narrow flags (see `receiver_commands.ts`): first the
 * executor, then, once its socket exists, the listener, as an unprivileged user when the starter
 * is root and that user can run it. It relays SIGTERM and SIGINT (a drain) to the executor and
 * SIGHUP (a reload: the executor's keys, the listener's TLS pair) to both, and when either
 * process ends it ends the other. This starter
 * reads, writes the first key and spawns; it never listens or connects.
 *
 * @module
 */
import { resolveBinaries } from "../process/fence.ts";
import { defaultDenoDir, findKill, firstExisting } from "../process/host_paths.ts";
import { OPS } from "../../ops/mod.ts";
import { baseProblems, declaredBases } from "../process/write_base.ts";
import { LISTENER, projectPath } from "../paths.ts";
import { parseServerConfig, type ServerConfig, serverHelp } from "./config.ts";
import { cacheTrustProblems } from "./cache_trust.ts";
import { createKeysFile, loadKeys, secretFilesOf } from "./keys.ts";
import { listenerFilesProblem } from "./listener_files.ts";
import { lockStateDir } from "./state_lock.ts";
import { buildExecutorCommand, buildListenerCommand } from "./receiver_commands.ts";
import { assertStateTrusted } from "./state_trust.ts";
import { denoTask, printUsage, printUsageError, runCli } from "../cli/usage.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** An account the listener can be switched to. */
export interface ListenerAccount {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

async function idOf(flag: string, name: string): Promise<number | undefined> {
  let output;
  try {
    output = await new Deno.Command("id", { args: [flag, "--", name], stderr: "null" }).output();
  } catch {
    return undefined;
  }
  if (output.code !== 0) return undefined;
  const value = Number(new TextDecoder().decode(output.stdout).trim());
  return Number.isInteger(value) ? value : undefined;
}

async function canAs(who: ListenerAccount, command: string, args: string[]): Promise<boolean> {
  try {
    const output = await new Deno.Command(command, {
      args,
      uid: who.uid,
      gid: who.gid,
      clearEnv: true,
      stdout: "null",
      stderr: "null",
    }).output();
    return output.code === 0;
  } catch {
    // Spawning as the user failed outright (EACCES on the binary or a directory above it).
    return false;
  }
}

/**
 * Decides who the listener runs as. Only a root starter can switch users; the account must be
 * able to execute Deno, read the listener bundle and reach the socket's directory. Returns the
 * account, or the one line that says why the listener stays with the starter's user.
 */
export async function listenerAccount(
  config: ServerConfig,
  denoPath: string,
): Promise<ListenerAccount | string> {
  if (Deno.uid() !== 0) return "";
  const fix = "; give --listener-user a user that can (see README: Deployment)";
  const name = config.listenerUser;
  if (name === "root") return "rootfence: the listener runs as root (--listener-user root)";
  const uid = await idOf("-u", name);
  const gid = await idOf("-g", name);
  if (uid === undefined || gid === undefined) {
    return `rootfence: the listener runs as root: no user "${name}"${fix}`;
  }
  const who = { name, uid, gid };
  const socketDir = config.socket.slice(0, config.socket.lastIndexOf("/")) || "/";
  const checks: [string, string[], string][] = [
    [denoPath, ["--version"], `cannot execute ${denoPath}`],
    ["test", ["-r", LISTENER.bundle], `cannot read ${LISTENER.bundle}`],
    ["test", ["-x", socketDir], `cannot reach ${socketDir}`],
  ];
  for (const [command, args, why] of checks) {
    if (!await canAs(who, command, args)) {
      return `rootfence: the listener runs as root: user "${name}" ${why}${fix}`;
    }
  }
  return who;
}

async function waitForSocket(path: string, executor: Deno.ChildProcess): Promise<boolean> {
  let exited = false;
  void executor.status.then(() => exited = true);
  for (let i = 0; i < 1500 && !exited; i++) {
    if ((await Deno.lstat(path).catch(() => undefined))?.isSocket) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** A host as it stands in a URL: an IPv6 address in brackets. */
function netHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function signal(process: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    process.kill(name);
  } catch {
    // already gone
  }
}

/** Starts the receiver and returns its exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let config;
  try {
    config = parseServerConfig(args, (name) => Deno.env.get(name), Deno.cwd());
  } catch (error) {
    // RangeError for a bad value, TypeError for an unknown flag: both the user's to fix.
    if (error instanceof RangeError || error instanceof TypeError) {
      return printUsageError(error, "deno task start");
    }
    throw error;
  }
  if (config === "help") return printUsage(serverHelp());
  const trusted = async () => {
    try {
      await assertStateTrusted({
        stateDir: config.stateDir,
        keysFile: config.keysFile,
        secretFiles: await secretFilesOf(config.keysFile),
        uid: Deno.uid()!,
      });
      return true;
    } catch (error) {
      console.error((error as Error).message);
      return false;
    }
  };
  // Before anything is created or read: the state, the keys and every directory above them;
  // and again once the state dir exists, in case someone else made it in between.
  if (!await trusted()) return 1;
  await Deno.mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  if (!await trusted()) return 1;
  // Refuse before anything changes (keys, modes, sockets) if a receiver already serves this
  // state dir. Otherwise a socket left by a crash is stale: the executor must not be mistaken
  // for ready by it. The executor takes the lock itself for its whole life.
  const lock = await lockStateDir(config.stateDir);
  if (typeof lock === "string") {
    console.error(lock);
    return 1;
  }
  if ((await Deno.lstat(config.socket).catch(() => undefined))?.isSocket) {
    await Deno.remove(config.socket);
  }
  lock.close();
  if (!await exists(config.keysFile)) {
    if (config.keysFile !== `${config.stateDir}/keys.json`) {
      console.error(`Cannot start: keys file "${config.keysFile}" does not exist`);
      return 1;
    }
    const id = await createKeysFile(config.keysFile);
    console.error(
      `rootfence: created signing key "${id}" in ${config.keysFile} (mode 0600; the secret ` +
        `stays in that file).\nrootfence: send a signed request with: ${denoTask()} send sensors --wait 10`,
    );
  }
  let files;
  try {
    files = (await loadKeys(config.keysFile, { settings: config.settings })).files;
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  const denoDir = defaultDenoDir();
  const killPath = await findKill();
  if (denoDir === undefined || killPath === undefined) {
    console.error("Cannot start: need DENO_DIR (or HOME) and a kill binary");
    return 1;
  }
  // The executor loads hono, zod and prom-client from this cache, and in direct mode it is root.
  const untrusted = await cacheTrustProblems(denoDir, Deno.uid()!);
  if (untrusted.length > 0) {
    console.error(untrusted[0]);
    return 1;
  }
  const sudoPath = config.runner === "sudo"
    ? await firstExisting([config.sudoPath]) ?? config.sudoPath
    : config.sudoPath;
  const denoPath = await Deno.realPath(Deno.execPath());
  const socketInState = config.socket.startsWith(`${config.stateDir}/`);
  // Traverse-only for others, so the listener's user can reach the socket and nothing else.
  if (socketInState && Deno.uid() === 0) await Deno.chmod(config.stateDir, 0o711);
  const account = await listenerAccount(config, denoPath);
  if (typeof account === "string") {
    if (socketInState) await Deno.chmod(config.stateDir, 0o700);
    if (account !== "") console.error(account);
  }
  const switched = typeof account === "string" ? undefined : account;
  const listenerFiles = await listenerFilesProblem(
    config,
    switched?.uid ?? Deno.uid()!,
    switched === undefined ? undefined : (flag, path) => canAs(switched, "test", [flag, path]),
  );
  if (listenerFiles !== undefined) {
    if (socketInState && switched !== undefined) await Deno.chmod(config.stateDir, 0o700);
    console.error(`rootfence: ${listenerFiles}`);
    return 1;
  }
  const unsafe = await baseProblems(OPS, config.settings);
  for (const { base, writers } of declaredBases(OPS, config.settings)) {
    const [first] = unsafe[base.path] ?? [];
    if (first === undefined) continue;
    console.error(
      `rootfence: ${writers.map((op) => op.name).join(", ")} is refused until the ${base.name} ` +
        `is fixed: ${first}`,
    );
  }
  const executorCommand = buildExecutorCommand({
    config: { ...config, sudoPath },
    denoPath,
    configPath: projectPath("deno.json"),
    lockPath: projectPath("deno.lock"),
    entryPath: projectPath("runtime/server/executor.ts"),
    killPath,
    binaries: await resolveBinaries(config.binPath),
    denoDir,
    readFiles: files,
    // The executor may not read the bases; the starter checks them and the child re-checks.
    baseProblems: unsafe,
    stopWithStdin: true,
    ...(switched === undefined ? {} : { socketGroup: switched.gid }),
  });
  const listenerCommand = buildListenerCommand({
    config,
    denoPath,
    entryPath: LISTENER.bundle,
    stopWithStdin: true,
  });
  const scheme = config.cert === undefined ? "http" : "https";
  const where = config.listenPath === undefined
    ? `${scheme}://${netHost(config.host)}:${config.port}`
    : `${scheme} on unix:${config.listenPath}`;
  console.error(
    `rootfence: receiver on ${where} (state ${config.stateDir}; ` +
      `listener as ${switched?.name ?? (Deno.uid() === 0 ? "root" : "this user")})`,
  );
  const executor = new Deno.Command(executorCommand.command, {
    args: [...executorCommand.args],
    clearEnv: true,
    env: { ...executorCommand.env },
    stdin: "piped",
  }).spawn();
  if (!await waitForSocket(config.socket, executor)) {
    signal(executor, "SIGTERM");
    console.error(`Cannot start: the executor did not open ${config.socket}`);
    return (await executor.status).code || 1;
  }
  const listener = new Deno.Command(listenerCommand.command, {
    args: [...listenerCommand.args],
    clearEnv: true,
    env: { ...listenerCommand.env },
    stdin: "piped",
    ...(switched === undefined ? {} : { uid: switched.uid, gid: switched.gid }),
  }).spawn();
  // Held open for our whole life and never written: if this starter dies, even by kill -9, both
  // see their stdin end and stop, so nothing serves on as an orphan.
  const lifelines = [executor.stdin.getWriter(), listener.stdin.getWriter()];
  let stopping = false;
  for (const name of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(name, () => {
      stopping = true;
      // The executor drains first (new triggers get 503 through the listener), then the
      // listener goes.
      signal(executor, name);
    });
  }
  // SIGHUP reloads: the executor its keys file, the listener its TLS certificate and key.
  Deno.addSignalListener("SIGHUP", () => {
    signal(executor, "SIGHUP");
    signal(listener, "SIGHUP");
  });
  let listenerFailed: number | undefined;
  void listener.status.then((status) => {
    if (!stopping) {
      console.error(`rootfence: the listener ended (exit ${status.code}); stopping the executor`);
      listenerFailed = status.code || 1;
    }
    signal(executor, "SIGTERM");
  });
  const code = (await executor.status).code;
  // With the executor gone nothing in flight can be answered any more: a short grace for the
  // listener to close its connections, then it goes.
  signal(listener, "SIGTERM");
  const ended = await Promise.race([
    listener.status.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000)),
  ]);
  if (!ended) signal(listener, "SIGKILL");
  await listener.status;
  for (const writer of lifelines) await writer.close().catch(() => undefined);
  // A listener that died on its own is a failure even when the executor then stopped cleanly,
  // so that systemd's Restart=on-failure and scripts see it.
  return listenerFailed ?? code;
}

if (import.meta.main) Deno.exit(await runCli(main, "deno task start", Deno.args));
