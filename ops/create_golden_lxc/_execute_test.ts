import assert from "node:assert/strict";
import type { CommandOutput, HostCommand, OpHost } from "../types.ts";
import { executeCreate } from "./_execute.ts";
import { createGoldenLxc as op } from "./mod.ts";

const settings = { mountBase: "/mnt/usb" };
const base = {
  vmid: 9000,
  ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  storage: "local-lvm",
  rootfsGb: 8,
};

const output = (exitCode: number, stderr = "", stdout = ""): CommandOutput => ({
  exitCode,
  signal: null,
  stdout,
  stderr,
  stdoutTruncated: false,
  stderrTruncated: false,
});

/** A host that answers each pct call in turn and records what ran. */
function fakeHost(...answers: CommandOutput[]): { host: OpHost; ran: string[][] } {
  const ran: string[][] = [];
  const refuse = () => Promise.reject(new Error("no file access"));
  const host: OpHost = {
    run(command: HostCommand) {
      ran.push([command.binary, ...command.args]);
      const answer = answers.shift();
      return answer ? Promise.resolve(answer) : Promise.reject(new Error("unexpected command"));
    },
    lstat: refuse,
    realPath: refuse,
    mkdir: refuse,
    rmdir: refuse,
  };
  return { host, ran };
}

Deno.test("execute() runs only pct create without template", async () => {
  const spec = op.schema(settings).parse(base);
  const { host, ran } = fakeHost(output(0, "", "done\n"));
  const outcome = await executeCreate(spec, host);
  assert.deepEqual(outcome, {
    ok: true,
    value: { vmid: 9000, created: true, template: false, log: "done" },
  });
  assert.deepEqual(ran, [["pct", ...op.argv(spec, settings).args]]);
});

Deno.test("execute() runs pct template <vmid> after a successful create", async () => {
  const spec = op.schema(settings).parse({ ...base, template: true });
  const { host, ran } = fakeHost(output(0, "", "done\n"), output(0));
  const outcome = await executeCreate(spec, host);
  assert.deepEqual(outcome, {
    ok: true,
    value: { vmid: 9000, created: true, template: true, log: "done" },
  });
  assert.deepEqual(ran, [["pct", ...op.argv(spec, settings).args], ["pct", "template", "9000"]]);
});

Deno.test("execute() never runs pct template after a failed create", async () => {
  const spec = op.schema(settings).parse({ ...base, template: true });
  const { host, ran } = fakeHost(output(255, "CT 9000 already exists on node 'pve1'"));
  const outcome = await executeCreate(spec, host);
  assert.equal(outcome.ok ? "ok" : outcome.code, "ct_exists");
  assert.equal(ran.length, 1);
});

Deno.test("execute() reports template_failed when pct template fails after a create", async () => {
  const spec = op.schema(settings).parse({ ...base, template: true });
  const { host } = fakeHost(
    output(0),
    output(255, "can't lock file '/run/lock/lxc/pve-config-9000.lock' - got timeout"),
  );
  const outcome = await executeCreate(spec, host);
  assert.equal(outcome.ok, false);
  if (!outcome.ok) {
    assert.equal(outcome.code, "template_failed");
    assert.match(outcome.message, /^Cannot convert CT 9000 to a template: it was created but/);
    assert.match(outcome.message, /got timeout$/);
  }
});

Deno.test("execute() names the exit status when pct template fails silently", async () => {
  const spec = op.schema(settings).parse({ ...base, template: true });
  const { host } = fakeHost(output(0), output(2));
  const outcome = await executeCreate(spec, host);
  assert.equal(outcome.ok ? "" : outcome.message.endsWith("exit status 2"), true);
});
