/**
 * The units check: the generated systemd units, rated by `systemd-analyze security` as
 * evidence. The listener faces the network and needs one port, one socket and one file, so its
 * unit must rate OK or better; the executor's rating is recorded as it is (it must reach host
 * mounts and, in sudo mode, sudo, which rule out most of systemd's sandboxing).
 *
 * @module
 */
import { rateUnits, type Units } from "../deploy/systemd.ts";
import { type CheckResult, result } from "./types.ts";

/** Runs the units check on the units of each runner mode. */
export async function checkUnits(
  units: Readonly<Record<"sudo" | "direct", Units>>,
): Promise<CheckResult> {
  const problems: string[] = [];
  const verified: string[] = [];
  const evidence: Record<string, unknown> = {};
  for (const [mode, pair] of Object.entries(units)) {
    const rated = await rateUnits(pair);
    if (rated === undefined) {
      return {
        id: "units",
        name: "systemd units",
        status: "skip",
        messages: [
          "systemd-analyze is not installed (apt-get install systemd)",
        ],
      };
    }
    evidence[mode] = rated;
    for (const { unit, score, rating } of rated) {
      const line = `${unit} (${mode}): ${score} ${rating}`;
      if (unit === "rootfence-listener.service" && !/^(OK|SAFE)$/.test(rating)) {
        problems.push(`${line}; the listener must rate OK or better`);
      } else verified.push(line);
    }
  }
  return result("units", "systemd units", problems, verified, evidence);
}
