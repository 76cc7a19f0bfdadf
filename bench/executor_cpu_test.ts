/**
 * The executor-side bench measures what it says: each side answers every signed line it is sent
 * (a side that refused or failed one would throw), and reports a CPU figure per request.
 */
import assert from "node:assert/strict";
import { figureOf } from "./executor_cpu.ts";

Deno.test("the executor-side bench runs both sides through to a CPU figure per request", async () => {
  for (const side of ["rootfence", "shape+work"]) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("executor_cpu.ts", import.meta.url).pathname,
        `--side=${side}`,
        "--requests=20",
      ],
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.ok(output.success, `${side}: ${stderr}`);
    const cpu = figureOf(new TextDecoder().decode(output.stdout));
    assert.ok(cpu > 0 && cpu < 1000, `${side}: ${cpu}`);
  }
});
