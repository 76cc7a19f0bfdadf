/**
 * What every CLI entry shares about its command line: one usage-error type, one parser that
 * turns the parser's own complaints into it, one printer for `--help` and for usage errors, and
 * {@linkcode runCli}, which turns whatever an entry throws into one line and a documented exit
 * code (the README's table): 0 done, 1 the op or check failed, 2 usage, 3 something the command
 * needs is missing or unreachable, 70 a bug. No stack trace reaches a user.
 *
 * Needs no permissions.
 *
 * @module
 */
import type { ParseArgsConfig } from "node:util";
import { parseArgs } from "../args.ts";

/**
 * A command-line mistake: the CLI prints it with {@linkcode printUsageError} and exits 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./usage.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new UsageError("--port is 1..65535").name, "UsageError");
 * ```
 */
export class UsageError extends Error {
  /**
   * @param message What is wrong, in one line.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Something outside the command line is missing, unreadable or unreachable (a file, a folder,
 * the receiver): the message says what, and what to do. Exit code 3.
 *
 * @example
 * ```ts
 * import { NeedError } from "./usage.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new NeedError("Cannot read x").name, "NeedError");
 * ```
 */
export class NeedError extends Error {
  /**
   * @param message What is missing and what to do, in one line.
   */
  constructor(message: string) {
    super(message);
    this.name = "NeedError";
  }
}

/** Exit codes every CLI entry uses; the README has the same table. */
export const EXIT = { ok: 0, failed: 1, usage: 2, need: 3, bug: 70 } as const;

/**
 * How the user runs a task: `deno task` when Deno is installed, the README's
 * `npx -y deno@<version> task` when it runs from npm's cache, so every printed hint can be pasted.
 *
 * @returns The command prefix, without the task's name.
 * @example
 * ```ts
 * import { denoTask } from "./usage.ts";
 * import assert from "node:assert/strict";
 * assert.match(denoTask(), /deno(@[0-9.]+)? task$/);
 * ```
 */
export function denoTask(): string {
  let path: string;
  try {
    path = Deno.execPath();
  } catch {
    // No read permission to learn it: the README's form works everywhere.
    return `npx -y deno@${Deno.version.deno} task`;
  }
  return /\/(_npx|node_modules)\//.test(path)
    ? `npx -y deno@${Deno.version.deno} task`
    : "deno task";
}

/**
 * Runs a CLI entry's `main` and returns its exit code; whatever it throws becomes one line on
 * stderr and a code from {@linkcode EXIT}, never a stack trace.
 *
 * @param main The entry.
 * @param command How the user runs it, in the README's `deno task <name>` form.
 * @param args Its arguments.
 * @returns The exit code.
 * @example
 * ```ts
 * import { NeedError, runCli } from "./usage.ts";
 * import assert from "node:assert/strict";
 * const quiet = console.error;
 * console.error = () => {};
 * const code = await runCli(() => Promise.reject(new NeedError("no")), "deno task x", []);
 * console.error = quiet;
 * assert.equal(code, 3);
 * ```
 */
export async function runCli(
  main: (args: string[]) => Promise<number>,
  command: string,
  args: string[],
): Promise<number> {
  try {
    return await main(args);
  } catch (error) {
    if (error instanceof UsageError) return printUsageError(error, command);
    if (error instanceof NeedError) {
      console.error(`rootfence: ${error.message}`);
      return EXIT.need;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (isNeed(error)) {
      console.error(`rootfence: ${message.split("\n")[0]}`);
      return EXIT.need;
    }
    console.error(
      `rootfence: unexpected error (a bug, please report it): ${message.split("\n")[0]}`,
    );
    return EXIT.bug;
  }
}

/** Errors of the machine, not of the program: a missing file, a refused connection. */
function isNeed(error: unknown): boolean {
  const kinds = [
    Deno.errors.NotFound,
    Deno.errors.PermissionDenied,
    Deno.errors.AlreadyExists,
    Deno.errors.NotADirectory,
    Deno.errors.IsADirectory,
    Deno.errors.ConnectionRefused,
    Deno.errors.ConnectionReset,
    Deno.errors.TimedOut,
    Deno.errors.NotCapable,
  ];
  return kinds.some((kind) => error instanceof kind);
}

/** The `--help` flag every entry accepts (`-h` too). */
export const HELP = { type: "boolean", short: "h" } as const;

/**
 * Parses a command line like `node:util`'s `parseArgs`, except that an unknown flag, a missing
 * value or a stray positional is a {@linkcode UsageError}.
 *
 * @param config The `parseArgs` configuration; `args` is required.
 * @returns What `parseArgs` returns.
 * @throws {UsageError} When the command line does not fit `config`.
 * @example
 * ```ts
 * import { parseCli, UsageError } from "./usage.ts";
 * import assert from "node:assert/strict";
 * const options = { port: { type: "string" } } as const;
 * assert.equal(parseCli({ args: ["--port", "80"], options }).values.port, "80");
 * assert.throws(() => parseCli({ args: ["--bogus"], options }), UsageError);
 * ```
 */
export function parseCli<T extends ParseArgsConfig & { args: string[] }>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (
      error instanceof TypeError && typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")
    ) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

/**
 * Prints a CLI's help on stdout.
 *
 * @param usage The whole help text.
 * @returns 0, the exit code of `--help`.
 * @example
 * ```ts ignore
 * if (values.help) return printUsage(USAGE);
 * ```
 */
export function printUsage(usage: string): 0 {
  console.log(usage);
  return 0;
}

/**
 * Prints a usage error on stderr: the message on its first line, then where the help is.
 *
 * @param error The mistake (its message is printed), or the message itself.
 * @param command How the user runs the entry, for the pointer to `--help`.
 * @returns 2, the exit code of every usage error.
 * @example
 * ```ts ignore
 * } catch (error) {
 *   if (error instanceof UsageError) return printUsageError(error, "deno task audit");
 *   throw error;
 * }
 * ```
 */
export function printUsageError(error: Error | string, command: string): 2 {
  const message = typeof error === "string" ? error : error.message;
  console.error(`${message}\nSee: ${command.replace(/^deno task\b/, denoTask())} --help`);
  return 2;
}
