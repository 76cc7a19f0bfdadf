/**
 * The systemd units for the receiver's two processes, each `ExecStart` the exact fenced command
 * line from the same builders `deno task start` and the audit use:
 *
 * - `rootfence.service`, the executor: keys, journal, children; root (direct) or the service
 *   user (sudo). Its socket lives in `RuntimeDirectory=rootfence`. In sudo mode only hardening
 *   that keeps sudo working is used: `NoNewPrivileges=` and every option that implies it would
 *   stop sudo, and a private mount namespace would keep mounts away from the host. Direct mode
 *   adds `NoNewPrivileges=` and friends, but still no mount-namespace options: mount-usb and pct
 *   must act on the host.
 * - `rootfence-listener.service`, the listener: HTTP only, as its own unprivileged user, with
 *   everything systemd can take away taken away (it needs one port, one socket and one file).
 * - `rootfence-listener.socket`, only with socket activation (always for a Unix socket): systemd
 *   creates the listening socket, with the owner, group and mode a reverse proxy needs, and hands
 *   it to the listener as descriptor 3, so the listener needs no grant to listen at all.
 *
 * `systemctl reload rootfence` reloads both services (`PropagatesReloadTo=`): the executor its
 * keys, the listener its TLS certificate and key.
 *
 * @module
 */
import type { ReceiverCommand } from "../server/receiver_commands.ts";

/** What the units are generated from. */
export interface UnitOptions {
  readonly mode: "sudo" | "direct";
  /** The executor's service user (sudo mode); direct mode runs it as root. */
  readonly user: string;
  /** The listener's own unprivileged user; its group may connect to the executor's socket. */
  readonly listenerUser: string;
  readonly executor: ReceiverCommand;
  readonly listener: ReceiverCommand;
  readonly stateDir: string;
  readonly graceMs: number;
  /** Who may connect besides localhost, as IPAddressAllow= entries. */
  readonly allow: readonly string[];
  /**
   * Socket activation: systemd listens and the listener (built with `listenFd: 3`) inherits the
   * socket. Absent, the listener listens itself.
   */
  readonly activation?: SocketActivation;
}

/** The socket systemd listens on for the listener. */
export interface SocketActivation {
  /** `ListenStream=`: `<address>:<port>`, or an absolute Unix socket path. */
  readonly listen: string;
  /**
   * The group that may connect to a Unix socket (a reverse proxy's).
   * @default {the listener user's group}
   */
  readonly group?: string;
}

/** The generated units, by file name. */
export interface Units {
  readonly "rootfence.service": string;
  readonly "rootfence-listener.service": string;
  /** With socket activation only. */
  readonly "rootfence-listener.socket"?: string;
}

/** Quotes one ExecStart word for systemd: `%` and `$` doubled, quotes where needed. */
export function unitWord(word: string): string {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  return /[\s"'\\;]/.test(escaped) ? `"${escaped.replace(/(["\\])/g, "\\$1")}"` : escaped;
}

function exec(command: ReceiverCommand): string[] {
  const env = Object.entries(command.env).map(([k, v]) => `${k}=${v}`).join(" ");
  return [
    `ExecStart=${[command.command, ...command.args].map(unitWord).join(" ")}`,
    `Environment=${env}`,
  ];
}

/** Renders `rootfence.service`, the executor. */
export function executorUnit(options: UnitOptions): string {
  const stateName = options.stateDir.replace(/^\/var\/lib\//, "");
  const stopSeconds = Math.ceil(options.graceMs / 1000) + 15;
  const service = [
    "[Unit]",
    "Description=rootfence executor (keys, journal and permission-fenced Proxmox host ops)",
    "Wants=rootfence-listener.service",
    "PropagatesReloadTo=rootfence-listener.service",
    "",
    "[Service]",
    "Type=exec",
    ...(options.mode === "sudo"
      ? [`User=${options.user}`, `Group=${options.user}`]
      : ["User=root"]),
    "# Membership lets the executor hand its socket to the listener's group, and no one else.",
    `SupplementaryGroups=${options.listenerUser}`,
    ...exec(options.executor),
    "# systemctl reload: the executor reloads its keys file on SIGHUP, dropping nothing, and the",
    "# listener its TLS certificate and key (PropagatesReloadTo= above).",
    "ExecReload=/bin/kill -HUP $MAINPID",
    "Restart=on-failure",
    "RestartSec=2s",
    "# SIGTERM to the executor alone: it drains for --grace, then kills its children itself.",
    "KillMode=mixed",
    `TimeoutStopSec=${stopSeconds}s`,
    "UMask=0077",
    ...(options.stateDir.startsWith("/var/lib/")
      ? [`StateDirectory=${stateName}`, "StateDirectoryMode=0700"]
      : []),
    "RuntimeDirectory=rootfence",
    "RuntimeDirectoryMode=0711",
    "# No IP at all: the executor talks to its listener over a Unix socket only.",
    "IPAddressDeny=any",
    "MemoryMax=512M",
    "TasksMax=256",
    "LimitNOFILE=4096",
  ];
  if (options.mode === "direct") {
    service.push(
      "# Direct mode runs no sudo, so privilege escalation can be closed off entirely.",
      "NoNewPrivileges=yes",
      "RestrictAddressFamilies=AF_UNIX AF_NETLINK",
      "LockPersonality=yes",
      "RestrictRealtime=yes",
      "SystemCallArchitectures=native",
    );
  } else {
    service.push(
      "# No NoNewPrivileges= (or any option implying it) and no private mount namespace:",
      "# both would stop sudo or hide mounts from the host.",
    );
  }
  return [...service, "", "[Install]", "WantedBy=multi-user.target", ""].join("\n");
}

/** Renders `rootfence-listener.service`, the listener. */
export function listenerUnit(options: UnitOptions): string {
  const activated = options.activation !== undefined;
  return [
    "[Unit]",
    "Description=rootfence listener (HTTP only; forwards signed requests to the executor)",
    "BindsTo=rootfence.service",
    "After=rootfence.service network.target",
    ...(activated ? ["Requires=rootfence-listener.socket", "After=rootfence-listener.socket"] : []),
    "",
    "[Service]",
    "Type=exec",
    `User=${options.listenerUser}`,
    `Group=${options.listenerUser}`,
    ...exec(options.listener),
    "# systemctl reload: the listener reloads its TLS certificate and key on SIGHUP (keeping the",
    "# pair in force if the new one is refused); without TLS it ignores it.",
    "ExecReload=/bin/kill -HUP $MAINPID",
    "Restart=on-failure",
    "RestartSec=2s",
    "UMask=0077",
    "IPAddressDeny=any",
    `IPAddressAllow=localhost${options.allow.map((a) => ` ${a}`).join("")}`,
    "MemoryMax=256M",
    "TasksMax=64",
    "LimitNOFILE=4096",
    "# It needs one port, one socket and one file: take everything else away.",
    "NoNewPrivileges=yes",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "PrivateMounts=yes",
    "DevicePolicy=closed",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectProc=invisible",
    "ProcSubset=pid",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "RemoveIPC=yes",
    "KeyringMode=private",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    "SystemCallFilter=~@privileged @resources @mount @swap @reboot @raw-io @module @obsolete",
    "SystemCallErrorNumber=EPERM",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * Renders `rootfence-listener.socket`: what systemd listens on for the listener. A Unix socket
 * belongs to the listener's user and the proxy's group, mode 0660, in a directory systemd
 * creates; a TCP socket gets the listener's IP allow list.
 */
export function listenerSocketUnit(options: UnitOptions, activation: SocketActivation): string {
  const unix = activation.listen.startsWith("/");
  return [
    "[Unit]",
    "Description=rootfence listener socket (systemd listens; the listener inherits it as fd 3)",
    "",
    "[Socket]",
    `ListenStream=${activation.listen}`,
    ...(unix
      ? [
        `SocketUser=${options.listenerUser}`,
        `SocketGroup=${activation.group ?? options.listenerUser}`,
        "SocketMode=0660",
        "DirectoryMode=0755",
        "RemoveOnStop=yes",
      ]
      : [
        "IPAddressDeny=any",
        `IPAddressAllow=localhost${options.allow.map((a) => ` ${a}`).join("")}`,
      ]),
    "",
    "[Install]",
    "WantedBy=sockets.target",
    "",
  ].join("\n");
}

/** Renders the units: both services, and the listener's socket with socket activation. */
export function systemdUnits(options: UnitOptions): Units {
  return {
    "rootfence.service": executorUnit(options),
    "rootfence-listener.service": listenerUnit(options),
    ...(options.activation === undefined
      ? {}
      : { "rootfence-listener.socket": listenerSocketUnit(options, options.activation) }),
  };
}

/** One unit's exposure as `systemd-analyze security` rates it (0 best, 10 worst). */
export interface Exposure {
  readonly unit: string;
  readonly score: number;
  readonly rating: string;
}

/**
 * Rates unit files offline with `systemd-analyze security --offline=true`. Needs run for
 * systemd-analyze and read/write of a temporary dir.
 *
 * @returns One rating per unit, or `undefined` when systemd-analyze is not installed.
 */
export async function rateUnits(units: Units): Promise<Exposure[] | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-units-" });
  try {
    const rated: Exposure[] = [];
    // Only services are rated: a socket unit runs nothing.
    for (const [name, text] of Object.entries(units)) {
      if (!name.endsWith(".service") || text === undefined) continue;
      const path = `${dir}/${name}`;
      await Deno.writeTextFile(path, text);
      let output;
      try {
        output = await new Deno.Command("systemd-analyze", {
          args: ["security", "--offline=true", "--no-pager", path],
          stdout: "piped",
          stderr: "piped",
        }).output();
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      }
      const text2 = new TextDecoder().decode(output.stdout);
      const match = /Overall exposure level for \S+: ([0-9.]+) (\S+)/.exec(text2);
      if (match === null) throw new Error(`Cannot rate ${name}: ${text2.slice(-200)}`);
      rated.push({ unit: name, score: Number(match[1]), rating: match[2]!.replace(/\W/g, "") });
    }
    return rated;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
