/**
 * `GET /metrics` on a real receiver, scraped as Prometheus would (a bearer token, the text
 * format read by a real parser), with recording fakes of `smartctl` and `sensors` that print
 * real captures: who may read it, how often the host commands run, and a failing `smartctl`.
 */
import assert from "node:assert/strict";
import { signedRequest } from "../runtime/cli/client.ts";
import { fakeBin, scanningSmartctl, shQuote } from "./_fakes.ts";
import { fixtureDir } from "./fixtures.ts";
import { keygen, startReceiver } from "./_receiver.ts";
import { eventually } from "./_watch.ts";
import { familiesOf, type Family, valuesOf } from "./_prometheus.ts";

const SYSTEM = "/usr/sbin:/usr/bin:/sbin:/bin";
const smartDir = fixtureDir("smartctl");
const sensorsDir = fixtureDir("sensors");

/** The first sample's value, found by family name and labels. */
function sample(families: Family[], name: string, labels: Record<string, string> = {}) {
  return valuesOf(families, name, labels)[0];
}

Deno.test({
  name: "receiver: /metrics needs a metrics token, reads the host at most once per max age, " +
    "shares one run between concurrent scrapes, and a failing smartctl hides nothing",
  ignore: smartDir === undefined || sensorsDir === undefined,
  async fn() {
    const fakes = await fakeBin();
    const stateDir = await Deno.makeTempDir({ prefix: "rootfence-metrics-" });
    const smartctl = scanningSmartctl(`${smartDir}/scan-sat-and-nvme-7.4.json`, {
      "/dev/sda": [`${smartDir}/ata-sat-hdd-wd-wd181kryz-7.3.json`, 0],
      "/dev/nvme0": [`${smartDir}/nvme-samsung-970evo-media-errors-7.json`, 0],
      "/dev/nvme1": [`${smartDir}/error-windows-open-failed-exit2.json`, 2],
    });
    await fakes.write("smartctl", smartctl);
    await fakes.write(
      "sensors",
      `cat ${shQuote(`${sensorsDir}/sensors-j-asrock-nct6798-coretemp-nvme.json`)}`,
    );
    const receiver = await startReceiver(stateDir, [
      "--bin-path",
      `${fakes.dir}:${SYSTEM}`,
      "--metrics-max-age",
      "smart=3,sensors=3",
    ]);
    const scrape = (token?: string) =>
      fetch(`${receiver.url}/metrics`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
    const scans = async () =>
      (await fakes.calls("smartctl")).filter((c) => c.argv.includes("--scan-open")).length;
    const families = async (token: string): Promise<Family[]> => {
      const response = await scrape(token);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      return familiesOf(await response.text());
    };
    try {
      // No token is configured yet: nothing reads metrics, not even a key's signature.
      const none = await scrape("rfm_" + "x".repeat(43));
      assert.equal(none.status, 401);
      assert.equal((await none.json()).code, "metrics_token_invalid");
      const signed = await fetch(
        await signedRequest(`${receiver.url}/metrics`, {
          secret: receiver.secret,
        }),
      );
      assert.equal(signed.status, 401);
      assert.equal((await signed.json()).code, "metrics_token_missing");
      assert.match(signed.headers.get("www-authenticate") ?? "", /^Bearer /);

      // keygen adds one, and SIGHUP puts it in force like any key.
      const keysFile = `${stateDir}/keys.json`;
      await keygen("--keys-file", keysFile, "--metrics-token", "--secret-out", `${stateDir}/tok`);
      const token = (await Deno.readTextFile(`${stateDir}/tok`)).trim();
      const before = receiver.lines.filter((l) => l.kind === "keys_reloaded").length;
      Deno.kill(receiver.starterPid, "SIGHUP");
      const reloaded = await eventually(() =>
        receiver.lines.filter((l) => l.kind === "keys_reloaded")[before]
      );
      assert.equal(reloaded.metricsTokens, 1);

      const wrong = await scrape(token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"));
      assert.equal(wrong.status, 401);
      assert.equal((await wrong.json()).code, "metrics_token_invalid");
      // The token triggers nothing.
      const trigger = await fetch(`${receiver.url}/hooks/sensors`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(trigger.status, 401);
      assert.equal((await trigger.json()).code, "signature_missing");

      const first = await families(token);
      assert.equal(await scans(), 1);
      assert.equal((await fakes.calls("sensors")).length, 1);
      assert.equal(sample(first, "rootfence_host_read_success", { op: "smart" }), 1);
      assert.equal(sample(first, "rootfence_host_read_success", { op: "sensors" }), 1);
      // The disks, from the captures: sda healthy, nvme0 with media errors, nvme1 unread.
      const sda = { device: "sda", type: "sat" };
      const nvme0 = { device: "nvme0", type: "nvme" };
      assert.equal(sample(first, "rootfence_smart_health", sda), 0);
      assert.equal(sample(first, "rootfence_smart_health", nvme0), 1);
      assert.equal(sample(first, "smartctl_device_media_errors", nvme0), 7);
      assert.equal(
        sample(first, "rootfence_smart_health", { device: "nvme1", type: "nvme" }),
        3,
      );
      assert.equal(
        sample(first, "rootfence_smart_reason", {
          device: "nvme1",
          reason: "not read: device_open_failed",
        }),
        1,
      );
      assert.ok(sample(first, "node_hwmon_temp_celsius", { chip: "coretemp-isa-0000" })! > 0);
      // The receiver's own metrics sit beside them; the scrape's reads were jobs too.
      assert.equal(sample(first, "rootfence_jobs_total", { op: "smart", status: "succeeded" }), 1);
      assert.equal(sample(first, "rootfence_queued_jobs"), 0);
      assert.equal(
        sample(first, "rootfence_rejected_requests_total", {
          code: "metrics_token_invalid",
        }),
        2,
      );

      // Within the max age: no host command at all, however many scrapes.
      await families(token);
      await families(token);
      assert.equal(await scans(), 1);
      assert.equal((await fakes.calls("sensors")).length, 1);

      // After it: one more run, shared by scrapes that arrive together.
      await new Promise((r) => setTimeout(r, 3_100));
      await Promise.all(Array.from({ length: 5 }, () => families(token)));
      assert.equal(await scans(), 2);
      assert.equal((await fakes.calls("sensors")).length, 2);

      // smartctl breaks: the scrape still answers 200, says so, and keeps the last disks.
      await fakes.write("smartctl", `echo "smartctl: broken" >&2; exit 1`);
      await new Promise((r) => setTimeout(r, 3_100));
      const broken = await families(token);
      assert.equal(sample(broken, "rootfence_host_read_success", { op: "smart" }), 0);
      assert.equal(sample(broken, "rootfence_host_read_success", { op: "sensors" }), 1);
      assert.ok(sample(broken, "rootfence_host_read_age_seconds", { op: "smart" })! >= 3);
      assert.equal(sample(broken, "rootfence_smart_health", sda), 0);
      assert.equal(sample(broken, "rootfence_jobs_total", { op: "smart", status: "failed" }), 1);
      assert.ok(sample(broken, "rootfence_running_jobs") !== undefined);

      // The token was never logged.
      assert.ok(!JSON.stringify(receiver.lines).includes(token));
      assert.ok(!receiver.stderr().includes(token));
    } finally {
      await receiver.stop();
      await fakes.remove();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

const realBinaries = ["/usr/bin/sensors", "/usr/sbin/smartctl"].every((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  name: "receiver: /metrics from the real Debian sensors and smartctl, no fakes, parsed",
  ignore: !realBinaries,
  async fn() {
    const stateDir = await Deno.makeTempDir({ prefix: "rootfence-metrics-real-" });
    // The keys file with a metrics token before the start: the receiver loads it as it is.
    const keysFile = `${stateDir}/keys.json`;
    await keygen("--keys-file", keysFile);
    await keygen("--keys-file", keysFile, "--metrics-token", "--secret-out", `${stateDir}/tok`);
    const token = (await Deno.readTextFile(`${stateDir}/tok`)).trim();
    const receiver = await startReceiver(stateDir);
    try {
      const response = await fetch(`${receiver.url}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 200);
      const families = familiesOf(await response.text());
      // The real sensors answers on any machine (a VM with no chip reports none): a good read.
      assert.equal(sample(families, "rootfence_host_read_success", { op: "sensors" }), 1);
      // smartctl's own verdict on this machine's disks, whatever they are: a reading, 0 or 1.
      assert.ok(
        [0, 1].includes(sample(families, "rootfence_host_read_success", { op: "smart" }) ?? -1),
      );
      // Log lines go out within 50 ms of what they describe, not before the answer.
      const runs = await eventually(() => {
        const seen = receiver.lines.filter((l) => l.keyId === "@metrics" && l.status !== undefined);
        return Promise.resolve(seen.length > 0 ? seen : undefined);
      });
      assert.ok(runs.length > 0, "the host reads ran as jobs");
    } finally {
      await receiver.stop();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});
