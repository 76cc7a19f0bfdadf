import assert from "node:assert/strict";
import { fixtureDir, fixtureNames, pctTranscript } from "../../tests/fixtures.ts";
import { createGoldenLxc as op } from "./mod.ts";

const settings = { mountBase: "/mnt/usb" };
const base = {
  vmid: 9000,
  ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  storage: "local-lvm",
  rootfsGb: 8,
};

Deno.test("argv() puts the positionals first and forces unprivileged and features", () => {
  assert.deepEqual(op.argv(op.schema(settings).parse(base), settings), {
    binary: "pct",
    args: [
      "create",
      "9000",
      "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
      "--unprivileged",
      "1",
      "--features",
      "nesting=1,keyctl=1",
      "--rootfs",
      "local-lvm:8",
    ],
  });
});

Deno.test("argv() appends cores, memory and hostname when given", () => {
  const input = op.schema(settings).parse({
    ...base,
    cores: 4,
    memoryMb: 2048,
    hostname: "golden.example.lan",
  });
  assert.deepEqual(op.argv(input, settings).args.slice(9), [
    "--cores",
    "4",
    "--memory",
    "2048",
    "--hostname",
    "golden.example.lan",
  ]);
});

Deno.test("argv() serialises net0 and the golden-base fields in a fixed order", () => {
  const input = op.schema(settings).parse({
    ...base,
    swapMb: 0,
    net0: {
      name: "eth0",
      bridge: "vmbr0",
      ip: "10.0.0.5/24",
      gw: "10.0.0.1",
      ip6: "fd00::5/64",
      gw6: "fd00::1",
      firewall: true,
      tag: 42,
    },
    nameserver: ["10.0.0.1", "fd00::1"],
    searchdomain: ["example.lan", "lan"],
    arch: "arm64",
    ostype: "alpine",
    tags: ["golden", "base.v1"],
    description: "Golden base (debian 12)",
    onboot: true,
    start: false,
    template: false,
  });
  assert.deepEqual(op.argv(input, settings).args.slice(9), [
    "--swap",
    "0",
    "--net0",
    "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,ip6=fd00::5/64,gw6=fd00::1,firewall=1,tag=42",
    "--nameserver",
    "10.0.0.1 fd00::1",
    "--searchdomain",
    "example.lan lan",
    "--arch",
    "arm64",
    "--ostype",
    "alpine",
    "--tags",
    "golden;base.v1",
    "--description=Golden base (debian 12)",
    "--onboot",
    "1",
    "--start",
    "0",
  ]);
});

const net0Cases: [Record<string, unknown>, string][] = [
  [{ name: "eth0", bridge: "vmbr0", ip: "dhcp" }, "name=eth0,bridge=vmbr0,ip=dhcp"],
  [
    { name: "eth0", bridge: "vmbr1", ip: "dhcp", ip6: "auto", firewall: false },
    "name=eth0,bridge=vmbr1,ip=dhcp,ip6=auto,firewall=0",
  ],
  [
    { name: "net.1", bridge: "vmbr0.100", ip: "192.168.15.147/24", gw: "192.168.15.1" },
    "name=net.1,bridge=vmbr0.100,ip=192.168.15.147/24,gw=192.168.15.1",
  ],
  [
    { name: "eth0", bridge: "vmbr0", ip: "dhcp", ip6: "dhcp", tag: 4094 },
    "name=eth0,bridge=vmbr0,ip=dhcp,ip6=dhcp,tag=4094",
  ],
];

for (const [net0, value] of net0Cases) {
  Deno.test(`argv() writes net0 ${JSON.stringify(net0)} as "${value}"`, () => {
    const args = op.argv(op.schema(settings).parse({ ...base, net0 }), settings).args;
    assert.deepEqual(args.slice(9), ["--net0", value]);
  });
}

Deno.test("argv() never adds pct template: that step is execute()'s, after the create", () => {
  const args = op.argv(op.schema(settings).parse({ ...base, template: true }), settings).args;
  assert.deepEqual(args.slice(0, 2), ["create", "9000"]);
  assert.equal(args.length, 9);
});

const valid: Record<string, unknown>[] = [
  { vmid: 100 },
  { vmid: 999_999_999 },
  { ostemplate: "nas-backup:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz" },
  { ostemplate: "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.gz" },
  { storage: "Local.ZFS_2" },
  { rootfsGb: 99_999 },
  { cores: 8192 },
  { memoryMb: 16 },
  { hostname: "a" },
  { hostname: `${"a".repeat(63)}.example` },
  { swapMb: 0 },
  { net0: { name: "eth0", bridge: "vmbr0", ip: "dhcp" } },
  {
    net0: { name: "eth0", bridge: "vmbr0", ip: "10.0.0.5/32", ip6: "fd00::5/128", gw6: "fd00::1" },
  },
  { nameserver: ["1.1.1.1", "2606:4700:4700::1111", "9.9.9.9"] },
  { searchdomain: ["example.lan"] },
  { arch: "amd64" },
  { ostype: "unmanaged" },
  { tags: ["_x", "a.b+c-d", "0"] },
  { description: "Golden base: debian 12, nesting+keyctl; built by rootfence" },
  { onboot: true, start: true },
  { template: true, start: false },
];

for (const patch of valid) {
  Deno.test(`schema accepts ${JSON.stringify(patch)}`, () => {
    assert.equal(op.schema(settings).safeParse({ ...base, ...patch }).success, true);
  });
}

const invalid: [string, Record<string, unknown>, string][] = [
  ["a vmid of 99", { vmid: 99 }, "vmid"],
  ["a vmid above the PVE maximum", { vmid: 1_000_000_000 }, "vmid"],
  ["a vmid as text", { vmid: "100" }, "vmid"],
  ["a fractional vmid", { vmid: 100.5 }, "vmid"],
  ["a rootfs storage that is a device path", { storage: "/dev/sda" }, "storage"],
  ["a rootfs storage that is a bind path", { storage: "/srv/data" }, "storage"],
  ["a storage with a colon", { storage: "local:vm-1" }, "storage"],
  ["a one-letter storage", { storage: "l" }, "storage"],
  ["an option as storage", { storage: "--force" }, "storage"],
  ["a rootfs of 0 GiB (a quota-less subvol)", { rootfsGb: 0 }, "rootfsGb"],
  ["a rootfs size as text", { rootfsGb: "8G" }, "rootfsGb"],
  ["a template outside vztmpl", { ostemplate: "local:iso/debian.tar.zst" }, "ostemplate"],
  ["a template climbing out", { ostemplate: "local:vztmpl/../../etc/x.tar.gz" }, "ostemplate"],
  ["a template as an absolute path", { ostemplate: "/var/lib/vz/t.tar.gz" }, "ostemplate"],
  ["a template with bz2", { ostemplate: "local:vztmpl/debian.tar.bz2" }, "ostemplate"],
  ["a template with a space", { ostemplate: "local:vztmpl/a b.tar.gz" }, "ostemplate"],
  ["a template starting with a dash", { ostemplate: "-local:vztmpl/a.tar.gz" }, "ostemplate"],
  ["a hostname with a newline", { hostname: "golden\nevil" }, "hostname"],
  ["a hostname with a trailing newline", { hostname: "golden\n" }, "hostname"],
  ["a hostname starting with a dash", { hostname: "-golden" }, "hostname"],
  ["a hostname label of 64 characters", { hostname: "a".repeat(64) }, "hostname"],
  ["a hostname with an underscore", { hostname: "gold_en" }, "hostname"],
  ["cores of 0", { cores: 0 }, "cores"],
  ["cores of 8193", { cores: 8193 }, "cores"],
  ["memory of 15 MiB", { memoryMb: 15 }, "memoryMb"],
  ["an extra key", { features: "nesting=1,keyctl=0" }, ""],
  ["an unprivileged override", { unprivileged: 0 }, ""],
  ["a negative swap", { swapMb: -1 }, "swapMb"],
  ["swap as text", { swapMb: "512" }, "swapMb"],
  ["net0 as a pct string", { net0: "name=eth0,bridge=vmbr0,ip=dhcp" }, "net0"],
  ["net0 without a bridge", { net0: { name: "eth0", ip: "dhcp" } }, "net0.bridge"],
  ["net0 without an ip", { net0: { name: "eth0", bridge: "vmbr0" } }, "net0.ip"],
  [
    "a bridge injecting an ip",
    { net0: { name: "eth0", bridge: "vmbr0,ip=1.2.3.4", ip: "dhcp" } },
    "net0.bridge",
  ],
  [
    "a name injecting a key",
    { net0: { name: "eth0=x", bridge: "vmbr0", ip: "dhcp" } },
    "net0.name",
  ],
  [
    "an ip injecting a gateway",
    { net0: { name: "eth0", bridge: "vmbr0", ip: "10.0.0.5/24,gw=10.0.0.66" } },
    "net0.ip",
  ],
  [
    "an ip6 injecting a key",
    { net0: { name: "eth0", bridge: "vmbr0", ip: "dhcp", ip6: "auto,hwaddr=00:11:22:33:44:55" } },
    "net0.ip6",
  ],
  ["a bridge name of 16 characters", {
    net0: { name: "eth0", bridge: "v".repeat(16), ip: "dhcp" },
  }, "net0.bridge"],
  ["an uppercase bridge", { net0: { name: "eth0", bridge: "VMBR0", ip: "dhcp" } }, "net0.bridge"],
  ["a bridge as an option", { net0: { name: "eth0", bridge: "-x", ip: "dhcp" } }, "net0.bridge"],
  [
    "an ip without a prefix",
    { net0: { name: "eth0", bridge: "vmbr0", ip: "10.0.0.5" } },
    "net0.ip",
  ],
  [
    "an ip with prefix 33",
    { net0: { name: "eth0", bridge: "vmbr0", ip: "10.0.0.5/33" } },
    "net0.ip",
  ],
  ["ip=manual", { net0: { name: "eth0", bridge: "vmbr0", ip: "manual" } }, "net0.ip"],
  [
    "an IPv6 address as ip",
    { net0: { name: "eth0", bridge: "vmbr0", ip: "fd00::5/64" } },
    "net0.ip",
  ],
  [
    "an ip6 with a zone",
    { net0: { name: "eth0", bridge: "vmbr0", ip: "dhcp", ip6: "fe80::1%eth0/64" } },
    "net0.ip6",
  ],
  [
    "a gateway with ip=dhcp",
    { net0: { name: "eth0", bridge: "vmbr0", ip: "dhcp", gw: "10.0.0.1" } },
    "net0.gw",
  ],
  [
    "a gw6 with ip6=auto",
    { net0: { name: "eth0", bridge: "vmbr0", ip: "dhcp", ip6: "auto", gw6: "fd00::1" } },
    "net0.gw6",
  ],
  [
    "a gw6 that injects a key",
    {
      net0: {
        name: "eth0",
        bridge: "vmbr0",
        ip: "dhcp",
        ip6: "fd00::5/64",
        gw6: "fd00::1,hwaddr=02:00:00:00:00:01",
      },
    },
    "net0.gw6",
  ],
  [
    "a gateway that is a CIDR",
    { net0: { name: "eth0", bridge: "vmbr0", ip: "10.0.0.5/24", gw: "10.0.0.1/24" } },
    "net0.gw",
  ],
  ["VLAN tag 0", { net0: { name: "eth0", bridge: "vmbr0", ip: "dhcp", tag: 0 } }, "net0.tag"],
  ["VLAN tag 4095", { net0: { name: "eth0", bridge: "vmbr0", ip: "dhcp", tag: 4095 } }, "net0.tag"],
  [
    "firewall as 1",
    { net0: { name: "eth0", bridge: "vmbr0", ip: "dhcp", firewall: 1 } },
    "net0.firewall",
  ],
  [
    "a hwaddr in net0",
    { net0: { name: "eth0", bridge: "vmbr0", ip: "dhcp", hwaddr: "00:11:22:33:44:55" } },
    "net0",
  ],
  ["a nameserver that is a name", { nameserver: ["dns.example"] }, "nameserver.0"],
  ["a nameserver list as one string", { nameserver: "1.1.1.1 8.8.8.8" }, "nameserver"],
  ["four nameservers", { nameserver: ["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"] }, "nameserver"],
  ["an empty nameserver list", { nameserver: [] }, "nameserver"],
  ["a searchdomain with a space", { searchdomain: ["a b"] }, "searchdomain.0"],
  ["a searchdomain with a comma", { searchdomain: ["a,b"] }, "searchdomain.0"],
  ["an unknown arch", { arch: "x86_64" }, "arch"],
  ["an unknown ostype", { ostype: "windows" }, "ostype"],
  ["an uppercase tag", { tags: ["Golden"] }, "tags.0"],
  ["a tag starting with a dash", { tags: ["-x"] }, "tags.0"],
  ["a tag with a semicolon", { tags: ["a;b"] }, "tags.0"],
  ["tags as one string", { tags: "a;b" }, "tags"],
  [
    "a description with a newline",
    { description: "golden\nlxc.apparmor.profile: unconfined" },
    "description",
  ],
  ["a description with a carriage return", { description: "golden\r" }, "description"],
  ["a description with a tab", { description: "golden\tbase" }, "description"],
  ["a description starting with a dash", { description: "--force" }, "description"],
  ["a description starting with a space", { description: " golden" }, "description"],
  ["a non-ASCII description", { description: "gold\u0435n" }, "description"],
  ["a description over 1024 characters", { description: "a".repeat(1025) }, "description"],
  ["onboot as 1", { onboot: 1 }, "onboot"],
  ["start with template (a template cannot be started)", { start: true, template: true }, "start"],
  ["a password", { password: "secret" }, ""],
  ["ssh public keys (a file path on the pct CLI)", { sshPublicKeys: "/root/.ssh/id.pub" }, ""],
  ["a second interface", { net1: { name: "eth1", bridge: "vmbr0", ip: "dhcp" } }, ""],
];

for (const [what, patch, path] of invalid) {
  Deno.test(`schema refuses ${what}`, () => {
    const result = op.schema(settings).safeParse({ ...base, ...patch });
    assert.equal(result.success, false);
    const paths = result.error!.issues.map((i) => i.path.join("."));
    if (path) assert.ok(paths.includes(path), `issues at ${paths.join(", ")}`);
    else assert.ok(result.error!.issues.some((i) => i.code === "unrecognized_keys"));
  });
}

Deno.test("schema refuses input with a required field missing", () => {
  for (const field of Object.keys(base)) {
    const partial: Record<string, unknown> = { ...base };
    delete partial[field];
    assert.equal(op.schema(settings).safeParse(partial).success, false, field);
  }
});

const output = (stderr: string, exitCode = 255) => ({
  exitCode,
  signal: null,
  stdout: "",
  stderr,
  stdoutTruncated: false,
  stderrTruncated: false,
});

Deno.test("parse() reports a created container on exit 0", () => {
  const spec = op.schema(settings).parse(base);
  const outcome = op.parse({ ...output("", 0), stdout: "extracting archive\n" }, spec);
  assert.deepEqual(outcome, {
    ok: true,
    value: { vmid: 9000, created: true, template: false, log: "extracting archive" },
  });
});

// Real pct/PVE transcripts (tests/testdata/pct; provenance in tests/testdata/README.md), with the class each one shows.
const expected: Record<string, string> = {
  "pct-create-ct-exists-1-via-api-ansible.txt": "ct_exists",
  "qm-storage-missing-old-wording-1.txt": "storage_not_found",
  "pveam-download-template-missing-1.txt": "template_not_found",
  "pct-create-lock-timeout-1-via-api-terraform.txt": "lock_timeout",
  "pct-start-lock-timeout-task-log-1.txt": "lock_timeout",
  "pct-create-feature-root-only-1-via-api-terraform.txt": "feature_root_only",
  "pct-create-feature-root-only-2-via-api-terraform.txt": "feature_root_only",
  "pct-create-no-space-lvm-1.txt": "no_space",
  "pct-create-param-invalid-1.txt": "command_failed",
  "pct-create-quorum-1.txt": "command_failed",
  "pct-create-other-post-create-hook-task-log-1.txt": "command_failed",
  "pct-create-other-pmxcfs-busy-1.txt": "command_failed",
  "pct-create-other-unsupported-os-version-1.txt": "command_failed",
  "pct-create-other-btrfs-bad-disk-name-1.txt": "command_failed",
  "pct-create-other-tar-extract-failed-1.txt": "command_failed",
  "pct-create-other-tar-extract-failed-2.txt": "command_failed",
};

const pctDir = fixtureDir("pct");
const spec = op.schema(settings).parse(base);

Deno.test({
  name: "parse() classifies every real pct transcript",
  ignore: pctDir === undefined,
  fn() {
    const names = fixtureNames(pctDir, /\.txt$/);
    assert.deepEqual(names, Object.keys(expected).sort(), "every capture has an expectation");
    for (const name of names) {
      const outcome = op.parse(output(pctTranscript(pctDir!, name)), spec);
      assert.equal(outcome.ok, false, name);
      if (!outcome.ok) {
        assert.equal(outcome.code, expected[name], name);
        assert.ok(outcome.message.length > 20, name);
      }
    }
  },
});

Deno.test("parse() classifies the CLI-only wordings (synthetic, from pve source strings)", () => {
  const cases: [string, string][] = [
    ["CT 9000 already exists on node 'pve1'", "ct_exists"],
    ["storage 'fast' does not exist", "storage_not_found"],
    [
      "unable to create CT 9000 - volume 'local:vztmpl/x.tar.zst' does not exist",
      "template_not_found",
    ],
    ["can't lock file '/run/lock/lxc/pve-config-9000.lock' - got timeout", "lock_timeout"],
    ["unable to create CT 9000 - tar: ./usr: No space left on device", "no_space"],
    ["please run as root", "denied"],
  ];
  for (const [stderr, code] of cases) {
    const outcome = op.parse(output(stderr), spec);
    assert.equal(outcome.ok ? "ok" : outcome.code, code, stderr);
  }
});

Deno.test("parse() reports template false: the create alone never makes a template", () => {
  const spec = op.schema(settings).parse({ ...base, template: true });
  const outcome = op.parse(output("", 0), spec);
  assert.equal(outcome.ok && outcome.value.template, false);
});

Deno.test("resourceKeys() is the vmid", () => {
  assert.deepEqual(op.resourceKeys(spec), ["vmid:9000"]);
});
