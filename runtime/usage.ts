/**
 * What every CLI entry shares about its command line: one usage-error type, one parser that
 * turns the parser's own complaints into it, and one printer for `--help` and for usage errors.
 * A usage error is one line, then where the help is; its exit code is always 2.
 *
 * Needs no permissions.
 *
 * @module
 */
import type { ParseArgsConfig } from "node:util";
import { parseArgs } from "./args.ts";

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
  console.error(`${message}\nSee: ${command} --help`);
  return 2;
}
