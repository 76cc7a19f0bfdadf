/**
 * How `mount-usb` runs inside its fenced child, through the injected {@linkcode OpHost}: check
 * the base and the target, resolve the UUID and read the mount table, refuse or succeed early,
 * create the target, mount, and read the table again to prove where the mount landed. Any
 * directory it created is removed again when nothing got mounted on it.
 *
 * @module
 */
import { classify, commandFailed, fail, tail } from "../_output.ts";
import type { OpHost, ParseOutcome, PathInfo } from "../types.ts";
import { mountArgs, parseMount, readOnlyMessage, RULES } from "./_command.ts";
import { CREATED_DIR_MODE, directoryProblem } from "../_directory.ts";
import {
  fakeMountDevice,
  FINDMNT,
  hasOption,
  isFilesystem,
  isReadOnly,
  type MountEntry,
  readMountTable,
} from "./_mount_table.ts";
import type { MountUsbError, MountUsbInput, MountUsbResult, MountUsbSettings } from "./mod.ts";

type Outcome = ParseOutcome<MountUsbResult, MountUsbError>;

/** The options every mount of this op carries. */
const FIXED_OPTIONS = ["nosuid", "nodev", "noexec"];

function describe(info: PathInfo): string {
  return info.kind === "other" ? "a special file" : `a ${info.kind}`;
}

/**
 * Judges an existing mount of the requested filesystem on the target: success only when it is
 * what the request would have produced.
 *
 * @param already Whether it was there before this run (otherwise this run just mounted it).
 */
export function judgeMounted(
  entry: MountEntry,
  spec: MountUsbInput,
  device: string,
  already: boolean,
  warnings: string,
): Outcome {
  const readOnly = isReadOnly(entry);
  const where = `on "${spec.target}"`;
  if (spec.readOnly !== true && readOnly) {
    return fail("mounted_read_only", readOnlyMessage(spec, already));
  }
  const missing = FIXED_OPTIONS.filter((o) => !hasOption(entry.vfsOptions, o));
  const problem = spec.readOnly === true && !readOnly
    ? "read-write"
    : missing.length > 0
    ? `without ${missing.join(",")}`
    : undefined;
  if (problem !== undefined) {
    return already
      ? fail(
        "already_mounted",
        `Cannot mount UUID=${spec.uuid} ${where}: it is already mounted there ${problem}`,
      )
      : fail(
        "mount_unverified",
        `Cannot verify the mount of UUID=${spec.uuid} ${where}: the kernel shows it ${problem}`,
      );
  }
  return {
    ok: true,
    value: {
      uuid: spec.uuid,
      target: spec.target,
      fsType: entry.fsType || spec.fsType,
      device,
      options: entry.vfsOptions,
      readOnly,
      alreadyMounted: already,
      warnings,
    },
  };
}

/**
 * Decides from the mount table, before anything changes, whether to mount at all: the same
 * filesystem already on the target is the answer; another one on the target, or this one
 * anywhere else, is a refusal. Paths are compared whole.
 *
 * @returns The final outcome, or `undefined` when the mount should go ahead.
 */
export function judgeBefore(
  table: readonly MountEntry[],
  spec: MountUsbInput,
  device: string,
): Outcome | undefined {
  // The last mount on a path is the one on top, the one a lookup of the path sees.
  const top = table.findLast((e) => e.target === spec.target);
  if (top !== undefined && isFilesystem(top, device, spec.uuid)) {
    return judgeMounted(top, spec, device, true, "");
  }
  if (top !== undefined) {
    return fail(
      "target_busy",
      `Cannot mount UUID=${spec.uuid} on "${spec.target}": it is already the mount point of ` +
        `${top.source || "another filesystem"} (${top.fsType})`,
    );
  }
  const elsewhere = table.filter((e) => isFilesystem(e, device, spec.uuid)).map((e) => e.target);
  if (elsewhere.length > 0) {
    return fail(
      "already_mounted",
      `Cannot mount UUID=${spec.uuid} on "${spec.target}": it is already mounted on ` +
        elsewhere.map((t) => `"${t}"`).join(", "),
    );
  }
  return undefined;
}

/** Reads the target's entry after a mount that mount itself called a success. */
export function judgeAfter(
  table: readonly MountEntry[],
  spec: MountUsbInput,
  device: string,
  warnings: string,
): Outcome {
  const top = table.findLast((e) => e.target === spec.target);
  if (top !== undefined && isFilesystem(top, device, spec.uuid)) {
    return judgeMounted(top, spec, device, false, warnings);
  }
  const seen = table.filter((e) => isFilesystem(e, device, spec.uuid)).map((e) => `"${e.target}"`);
  return fail(
    "mount_unverified",
    `Cannot verify the mount of UUID=${spec.uuid} on "${spec.target}": the mount table shows ` +
      (seen.length > 0 ? `it on ${seen.join(", ")}` : "it nowhere"),
  );
}

async function mountTable(host: OpHost): Promise<ParseOutcome<MountEntry[], MountUsbError>> {
  const output = await host.run(FINDMNT);
  if (output.exitCode !== 0 || output.signal !== null) return commandFailed("findmnt", output);
  if (output.stdoutTruncated) {
    return fail("output_too_large", "Cannot read the mount table: findmnt printed over 1 MiB");
  }
  const table = readMountTable(output.stdout);
  if (table === undefined) {
    return fail("command_failed", "Cannot read the mount table: findmnt printed no JSON table");
  }
  return { ok: true, value: table };
}

async function resolveDevice(
  host: OpHost,
  spec: MountUsbInput,
): Promise<ParseOutcome<string, MountUsbError>> {
  // libmount's own answer to "which device is UUID=...", without mounting (--fake).
  const output = await host.run({
    binary: "mount",
    args: ["--fake", "--verbose", ...mountArgs(spec)],
  });
  if (output.exitCode !== 0 || output.signal !== null) {
    const code = classify(output.stderr, RULES);
    if (code === undefined) return commandFailed("mount --fake", output);
    return fail(code, `Cannot mount UUID=${spec.uuid} on "${spec.target}": ${tail(output.stderr)}`);
  }
  const device = fakeMountDevice(output.stdout) ?? fakeMountDevice(output.stderr);
  if (device === undefined) {
    return fail(
      "command_failed",
      `Cannot resolve UUID=${spec.uuid}: mount --fake named no device: ${tail(output.stdout)}`,
    );
  }
  return { ok: true, value: device };
}

/** Why the base is unsafe, or `undefined`; a missing base is `"missing"` (the op creates it). */
async function checkBase(host: OpHost, base: string): Promise<string | undefined> {
  const info = await host.lstat(base);
  if (info === undefined) return "missing";
  const problem = directoryProblem(info, "base");
  if (problem !== undefined) return problem;
  // Deno grants by the path as written: a symlink anywhere above would move the whole grant.
  if (await host.realPath(base) !== base) return "is reached through a symlink";
  return undefined;
}

/**
 * Mounts as described in the module header. Needs, through `host`: run `mount` and `findmnt`,
 * read and write the mount base.
 */
export async function executeMount(
  spec: MountUsbInput,
  settings: MountUsbSettings,
  host: OpHost,
): Promise<Outcome> {
  const base = settings.mountBase;
  const baseProblem = await checkBase(host, base);
  if (baseProblem !== undefined && baseProblem !== "missing") {
    return baseUnsafe(spec, base, baseProblem);
  }
  const baseExists = baseProblem === undefined;
  const target = baseExists ? await host.lstat(spec.target) : undefined;
  if (target !== undefined && target.kind !== "directory") {
    return fail(
      "target_unsafe",
      `Cannot mount on "${spec.target}": it is ${describe(target)}; a mount point must be a ` +
        "plain directory",
    );
  }
  const device = await resolveDevice(host, spec);
  if (!device.ok) return device;
  const before = await mountTable(host);
  if (!before.ok) return before;
  const decided = judgeBefore(before.value, spec, device.value);
  if (decided !== undefined) return decided;

  const created: string[] = [];
  let result: { outcome: Outcome; keep: boolean };
  try {
    result = await createAndMount(host, spec, {
      base,
      baseExists,
      targetExists: target !== undefined,
      device: device.value,
      created,
    });
  } catch (error) {
    await removeCreated(host, created);
    throw error;
  }
  if (result.keep) return result.outcome;
  const left = await removeCreated(host, created);
  if (left.length === 0 || result.outcome.ok) return result.outcome;
  return { ...result.outcome, message: `${result.outcome.message}; ${left.join("; ")}` };
}

function baseUnsafe(spec: MountUsbInput, base: string, problem: string): Outcome {
  return fail(
    "mount_base_unsafe",
    `Cannot mount on "${spec.target}": mount base "${base}" ${problem}`,
  );
}

interface MountPlan {
  readonly base: string;
  readonly baseExists: boolean;
  readonly targetExists: boolean;
  readonly device: string;
  /** Filled with each directory created, so the caller can remove them again. */
  readonly created: string[];
}

/** Creates what is missing, mounts and verifies; `keep` when a mount now sits on the target. */
async function createAndMount(
  host: OpHost,
  spec: MountUsbInput,
  plan: MountPlan,
): Promise<{ outcome: Outcome; keep: boolean }> {
  if (!plan.baseExists) {
    // The launcher checked every directory above the base; the base itself is made here.
    await host.mkdir(plan.base, CREATED_DIR_MODE);
    plan.created.push(plan.base);
    const problem = await checkBase(host, plan.base);
    if (problem !== undefined) {
      return { outcome: baseUnsafe(spec, plan.base, problem), keep: false };
    }
  }
  if (!plan.targetExists) {
    await host.mkdir(spec.target, CREATED_DIR_MODE);
    plan.created.push(spec.target);
  }
  const run = parseMount(await host.run({ binary: "mount", args: mountArgs(spec) }), spec);
  // A failed mount mounted nothing (and rmdir refuses a mount point anyway).
  if (!run.ok && run.code !== "mounted_read_only") return { outcome: run, keep: false };
  const after = await mountTable(host);
  // Unreadable table: keep what was created rather than guess whether a mount sits on it.
  if (!after.ok) return { outcome: after, keep: true };
  const keep = after.value.some((e) => e.target === spec.target);
  const warnings = run.ok ? run.value.warnings : "";
  return { outcome: judgeAfter(after.value, spec, plan.device, warnings), keep };
}

/** Removes created directories, deepest first; returns what could not be removed, and why. */
async function removeCreated(host: OpHost, created: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const dir of [...created].reverse()) {
    try {
      await host.rmdir(dir);
    } catch (error) {
      left.push(`Cannot remove the created directory "${dir}": ${(error as Error).message}`);
    }
  }
  return left;
}
