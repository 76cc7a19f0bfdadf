/**
 * The systemd unit for the receiver. Its `ExecStart` is the receiver's exact fenced command line
 * (the same builder `deno task start` and the audit use).
 *
 * In sudo mode only hardening that keeps sudo working is used: `NoNewPrivileges=` and every
 * option that implies it (`RestrictAddressFamilies=`, `SystemCallFilter=`, `Protect*=`,
 * `PrivateDevices=`, ...) would stop sudo, and a private mount namespace would keep mounts away
 * from the host. The direct-mode variant (root, no sudo) can add `NoNewPrivileges=` and friends,
 * but still no mount-namespace options: mount-usb and pct must act on the host.
 *
 * @module
 */
import type { ReceiverCommand } from "../server/receiver_flags.ts";

/** What the unit is generated from. */
export interface UnitOptions {
  readonly mode: "sudo" | "direct";
  /** The service user (sudo mode); direct mode runs as root. */
  readonly user: string;
  readonly receiver: ReceiverCommand;
  readonly stateDir: string;
  readonly graceMs: number;
  /** Who may connect besides localhost, as IPAddressAllow= entries. */
  readonly allow: readonly string[];
}

/** Quotes one ExecStart word for systemd: `%` and `$` doubled, quotes where needed. */
export function unitWord(word: string): string {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  return /[\s"'\\;]/.test(escaped) ? `"${escaped.replace(/(["\\])/g, "\\$1")}"` : escaped;
}

/** Renders `rootfence.service`. */
export function systemdUnit(options: UnitOptions): string {
  const { receiver } = options;
  const env = Object.entries(receiver.env).map(([k, v]) => `${k}=${v}`).join(" ");
  const stateName = options.stateDir.replace(/^\/var\/lib\//, "");
  const stopSeconds = Math.ceil(options.graceMs / 1000) + 15;
  const service = [
    "[Unit]",
    "Description=rootfence webhook receiver (permission-fenced Proxmox host ops)",
    "After=network.target",
    "",
    "[Service]",
    "Type=exec",
    ...(options.mode === "sudo"
      ? [`User=${options.user}`, `Group=${options.user}`]
      : ["User=root"]),
    `ExecStart=${[receiver.command, ...receiver.args].map(unitWord).join(" ")}`,
    `Environment=${env}`,
    "Restart=on-failure",
    "RestartSec=2s",
    "# SIGTERM to the receiver alone: it drains for --grace, then kills its children itself.",
    "KillMode=mixed",
    `TimeoutStopSec=${stopSeconds}s`,
    "UMask=0077",
    ...(options.stateDir.startsWith("/var/lib/")
      ? [`StateDirectory=${stateName}`, "StateDirectoryMode=0700"]
      : []),
    "IPAddressDeny=any",
    `IPAddressAllow=localhost${options.allow.map((a) => ` ${a}`).join("")}`,
    "MemoryMax=512M",
    "TasksMax=256",
    "LimitNOFILE=4096",
  ];
  if (options.mode === "direct") {
    service.push(
      "# Direct mode runs no sudo, so privilege escalation can be closed off entirely.",
      "NoNewPrivileges=yes",
      "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
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
