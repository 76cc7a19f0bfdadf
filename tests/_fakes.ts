/**
 * Recording fake binaries for launcher tests: each fake writes its argv and environment next to
 * itself, then behaves as the test says. The child clears the environment, so a fake finds its
 * record folder from its own path, not from a variable.
 *
 * @module
 */

/** What a fake records of each call. */
export interface FakeCall {
  readonly argv: string[];
  readonly env: Record<string, string>;
}

/** A folder of fakes, usable as a bin path. */
export interface FakeBin {
  readonly dir: string;
  /** Writes a fake `name` whose body runs after recording (a POSIX sh fragment). */
  write(name: string, body: string): Promise<string>;
  /** The calls recorded for `name`, oldest first. */
  calls(name: string): Promise<FakeCall[]>;
  remove(): Promise<void>;
}

/** Quotes a value for POSIX sh. */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Creates an empty fake folder (canonical path, as the launcher resolves binaries). */
export async function fakeBin(): Promise<FakeBin> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "rootfence-fakes-" }));
  return {
    dir,
    async write(name, body) {
      const path = `${dir}/${name}`;
      const record = `${dir}/${name}.calls`;
      const script = [
        "#!/bin/sh",
        // Time then pid: unique across concurrent calls, and sorts in call order.
        `n=$(date +%s%N)-$$`,
        `mkdir -p ${shQuote(record)}`,
        `printf '%s\\0' "$0" "$@" > ${shQuote(record)}/$n.argv`,
        `env -0 > ${shQuote(record)}/$n.env`,
        body,
        "",
      ].join("\n");
      await Deno.writeTextFile(path, script, { mode: 0o755 });
      return path;
    },
    async calls(name) {
      const record = `${dir}/${name}.calls`;
      let names: string[];
      try {
        names = [...Deno.readDirSync(record)].map((e) => e.name).filter((n) => n.endsWith(".argv"));
      } catch {
        return [];
      }
      const calls: FakeCall[] = [];
      for (const file of names.sort()) {
        const argv = await Deno.readTextFile(`${record}/${file}`);
        const env = await Deno.readTextFile(`${record}/${file.replace(/argv$/, "env")}`)
          .catch(() => "");
        calls.push({
          argv: argv.split("\0").slice(0, -1),
          env: Object.fromEntries(
            env.split("\0").filter(Boolean).map((kv) => {
              const at = kv.indexOf("=");
              return [kv.slice(0, at), kv.slice(at + 1)];
            }),
          ),
        });
      }
      return calls;
    },
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * The script of a fake `smartctl` that answers `--scan-open -j` with `scan` and each listed disk
 * with its real capture and exit status; anything else exits 99.
 */
export function scanningSmartctl(scan: string, disks: Record<string, [string, number]>): string {
  const cases = Object.entries(disks).map(([device, [file, exit]]) =>
    `  *" ${device}") cat ${shQuote(file)}; exit ${exit};;`
  );
  return [
    `case "$*" in`,
    `  "--scan-open -j") cat ${shQuote(scan)};;`,
    ...cases,
    `  *) echo "unexpected: $*" >&2; exit 99;;`,
    "esac",
  ].join("\n");
}
