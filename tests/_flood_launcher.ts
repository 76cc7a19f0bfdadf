/**
 * Runs one `sensors` invocation against a flooding fake in a process of its own, so the RSS it
 * prints is the launcher's alone (test files share one process under `--parallel`).
 *
 * Usage: deno run -A tests/_flood_launcher.ts <bin-path>
 */
import { findOp } from "../ops/mod.ts";
import { Launcher } from "../runtime/process/launcher.ts";

const launcher = await Launcher.create({ binPath: Deno.args[0]! });
const op = findOp("sensors")!;
await launcher.invoke(op, {}); // warm-up: modules, zod schemas, first spawn
const before = Deno.memoryUsage().rss;
const run = await launcher.invoke(op, {});
const after = Deno.memoryUsage().rss;
console.log(JSON.stringify({ run, growthBytes: after - before }));
