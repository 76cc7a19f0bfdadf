/**
 * The library's public entry: exactly the API it means to offer, every symbol documented.
 */
import assert from "node:assert/strict";
import * as api from "../mod.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);

Deno.test("mod.ts offers running ops, the registry, errors, parsers and tables, and no internals", () => {
  assert.deepEqual(Object.keys(api).sort(), [
    "DEFAULT_BIN_PATH",
    "ERROR_CODES",
    "EXIT_BITS",
    "FENCE_BINARIES",
    "Launcher",
    "OPS",
    "READING_KINDS",
    "RUNTIME_ERROR_CODES",
    "RootfenceError",
    "decodeExitStatus",
    "errorCodes",
    "findOp",
    "parseSensors",
    "parseSmartctl",
    "parseSmartctlScan",
    "runOp",
    "sensorsTable",
    "smartTable",
  ]);
});

Deno.test("deno doc --lint finds nothing to fix in the public entry", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", "mod.ts"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, text);
});
