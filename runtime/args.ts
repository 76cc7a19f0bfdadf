/**
 * The single place the argument parser is imported from, so that switching to `@std/cli` (once
 * JSR is reachable) is a one-line change.
 *
 * @module
 */
export { parseArgs } from "node:util";
export type { ParseArgsOptionsConfig } from "node:util";
