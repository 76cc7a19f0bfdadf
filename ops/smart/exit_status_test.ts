import assert from "node:assert/strict";
import { decodeExitStatus, EXIT_BITS } from "./exit_status.ts";

Deno.test("decodeExitStatus() names each bit of the mask", () => {
  for (const [bit, name] of EXIT_BITS.entries()) {
    assert.deepEqual(decodeExitStatus(1 << bit).bits, [name]);
  }
  assert.deepEqual(decodeExitStatus(0).bits, []);
  assert.deepEqual(decodeExitStatus(4).bits, ["smartCommandFailed"]);
});
