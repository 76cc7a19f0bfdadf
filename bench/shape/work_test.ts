/**
 * The shape with the work does the work it is measured for: a request it cannot verify is
 * refused before anything runs, a redelivery is not run twice, and a signed one runs the real
 * binary through the op's own parser.
 */
import assert from "node:assert/strict";
import { signatureHeaders } from "../../runtime/signing.ts";
import { shape, type Workload } from "../systems.ts";

const SENSORS: Workload = {
  name: "sensors",
  op: "sensors",
  input: {},
  binary: "/usr/bin/sensors",
  args: ["-j"],
};

Deno.test("the shape with the work verifies, refuses a redelivery and parses what it ran", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-shape-" });
  const system = await shape([SENSORS], dir, { work: true });
  try {
    const signed = await system.wrkRequest(SENSORS, 0);
    const send = (headers: Record<string, string>, body = signed.body) =>
      fetch(`${system.url}${signed.path}`, { method: "POST", headers, body });
    const first = await send(signed.headers);
    assert.equal(first.status, 200);
    const job = await first.json();
    // The op's parser's outcome (lm-sensors with no sensors is a report too), not raw streams.
    assert.equal(job.result.ok, true, JSON.stringify(job));
    assert.equal(typeof job.result.value, "object");
    assert.equal(job.result.stdout, undefined);
    assert.equal((await send(signed.headers)).status, 409);
    const forged = await signatureHeaders(
      "whsec_" + btoa("another key, not the bench's"),
      new Uint8Array(),
    );
    assert.equal((await send({ ...signed.headers, ...forged })).status, 401);
    assert.equal((await send(signed.headers, '{"x":1}')).status, 401);
  } finally {
    await system.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
