/** `deno task report` on saved captures, as an operator runs it. */
import assert from "node:assert/strict";
import { fixtureDir } from "./fixtures.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname);

async function report(args: string[]): Promise<{ code: number; out: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "report", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, out: new TextDecoder().decode(output.stdout) };
}

const smartDir = fixtureDir("smartctl");
const sensorsDir = fixtureDir("sensors");

Deno.test({
  name: "report smart renders a saved capture, honouring --exit-code",
  ignore: smartDir === undefined,
  async fn() {
    const file = `${smartDir}/usb-jmicron-hdd-hitachi-failing-exit216.json`;
    const table = await report(["smart", file]);
    assert.equal(table.code, 0);
    assert.match(table.out, /^Health +FAILING$/m);
    assert.match(table.out, /- attribute 5 Reallocated_Sector_Ct raw 1975 > 0/);
    const json = await report(["smart", file, "--exit-code", "2", "--format", "json"]);
    const doc = JSON.parse(json.out);
    assert.equal(doc.health, "unknown", "bit 1 from --exit-code overrides the recorded status");
    assert.deepEqual(doc.exitStatus, { code: 2, bits: ["deviceOpen"] });
  },
});

Deno.test({
  name: "report sensors renders a broken capture after naming its repairs",
  ignore: sensorsDir === undefined,
  async fn() {
    const run = await report([
      "sensors",
      `${sensorsDir}/sensors-j-INVALID-concatenated-objects-two-chip-args.txt`,
    ]);
    assert.equal(run.code, 0);
    assert.match(run.out, /^drivetemp-scsi-0-0 +temp1 +temp +22 °C/m);
    assert.match(run.out, /repaired: merged 2 concatenated documents/);
  },
});

Deno.test("report exits 1 on an unreadable capture and 2 on bad usage", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "smartctl: command not found\n");
    assert.equal((await report(["smart", file])).code, 1);
    assert.equal((await report(["disk", file])).code, 2);
    assert.equal((await report(["smart", file, "--exit-code", "x"])).code, 2);
  } finally {
    await Deno.remove(file);
  }
});
