/**
 * `deno task start`: prepares the state dir and keys, resolves every path once, then runs the
 * receiver under its own narrow flags (see `receiver_flags.ts`) and relays signals to it. This
 * starter reads, writes the first key and spawns; it never listens or connects.
 *
 * @module
 */
import { resolveBinaries } from "../fence.ts";
import { defaultDenoDir, firstExisting } from "../launcher.ts";
import { parseServerConfig, serverHelp } from "./config.ts";
import { createKeysFile, loadKeys } from "./keys.ts";
import { buildReceiverCommand } from "./receiver_flags.ts";

function projectPath(relative: string): string {
  return decodeURIComponent(new URL(relative, import.meta.url).pathname);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Starts the receiver and returns its exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let config;
  try {
    config = parseServerConfig(args, (name) => Deno.env.get(name), Deno.cwd());
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${serverHelp()}`);
    return 2;
  }
  if (config === "help") {
    console.log(serverHelp());
    return 0;
  }
  await Deno.mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  if (!await exists(config.keysFile)) {
    if (config.keysFile !== `${config.stateDir}/keys.json`) {
      console.error(`Cannot start: keys file "${config.keysFile}" does not exist`);
      return 1;
    }
    const id = await createKeysFile(config.keysFile);
    console.error(
      `rootfence: created signing key "${id}" in ${config.keysFile} (mode 0600; the secret ` +
        `stays in that file).\nrootfence: send a signed request with: deno task send sensors --wait 10`,
    );
  }
  let files;
  try {
    files = (await loadKeys(config.keysFile)).files;
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  const denoDir = defaultDenoDir();
  const killPath = await firstExisting(["/usr/bin/kill", "/bin/kill"]);
  if (denoDir === undefined || killPath === undefined) {
    console.error("Cannot start: need DENO_DIR (or HOME) and a kill binary");
    return 1;
  }
  const sudoPath = config.runner === "sudo"
    ? await firstExisting([config.sudoPath]) ?? config.sudoPath
    : config.sudoPath;
  const command = buildReceiverCommand({
    config: { ...config, sudoPath },
    denoPath: await Deno.realPath(Deno.execPath()),
    configPath: projectPath("../../deno.json"),
    lockPath: projectPath("../../deno.lock"),
    entryPath: projectPath("./main.ts"),
    killPath,
    binaries: await resolveBinaries(config.binPath),
    denoDir,
    readFiles: files,
  });
  console.error(
    `rootfence: receiver on http://${config.host}:${config.port} (state ${config.stateDir})`,
  );
  const child = new Deno.Command(command.command, {
    args: [...command.args],
    clearEnv: true,
    env: { ...command.env },
    stdin: "null",
  }).spawn();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    });
  }
  return (await child.status).code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
