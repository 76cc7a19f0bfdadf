/**
 * The listener's TLS certificate and private key: read and checked, at start and again at each
 * SIGHUP, before the listener serves them. The key is a private file, trusted like the keys
 * file: not a symlink, a regular file, owned by the user that reads it, readable by nobody else.
 * The certificate is public: it may be a symlink (certbot's `live/` layout), but it must parse,
 * must not have expired, and must match the key. Deno's `node:tls` checks none of this (a secure
 * context made of garbage fails only at the first handshake), so it is checked here first.
 * Part of the sealed listener: Node built-ins only.
 *
 * Needs read permission for both files and `--allow-sys=uid` where the caller reads `Deno.uid()`.
 *
 * @module
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";

/** A checked certificate and key, ready to serve. */
export interface TlsPair {
  /** The certificate (chain), PEM. */
  readonly cert: string;
  /** Its private key, PEM. */
  readonly key: string;
  /** The certificate's SHA-256 fingerprint, colon-separated hex, for logs. */
  readonly fingerprint: string;
  /** When the certificate expires, ISO 8601. */
  readonly validTo: string;
}

/** The largest certificate chain or key read: a PEM chain is a few KiB. */
const MAX_PEM_BYTES = 1 << 20;

function octal(mode: number): string {
  return (mode & 0o7777).toString(8);
}

/**
 * The one-line problem with a private key file, from its `lstat` information, or `undefined`
 * when it may be trusted: the rules of the keys file (`state_trust.ts`). Pure.
 *
 * @param path The key file, for the message.
 * @param info Its `Deno.lstat` information.
 * @param uid The user that reads it.
 * @returns The problem, naming what to fix, or `undefined`.
 * @example
 * ```ts
 * import { keyFileProblem } from "./tls_pair.ts";
 * import assert from "node:assert/strict";
 * const info = { isFile: true, isSymlink: false, uid: 0, mode: 0o100640 } as Deno.FileInfo;
 * assert.match(keyFileProblem("/etc/rootfence/tls.key", info, 0)!, /chmod 600/);
 * const closed = { ...info, mode: 0o100600 };
 * assert.equal(keyFileProblem("/etc/rootfence/tls.key", closed, 0), undefined);
 * ```
 */
export function keyFileProblem(path: string, info: Deno.FileInfo, uid: number): string | undefined {
  const cannot = `Cannot trust TLS key "${path}"`;
  if (info.isSymlink) return `${cannot}: it is a symlink; point --key at the real file`;
  if (!info.isFile) return `${cannot}: it is not a regular file`;
  if (info.uid !== uid) {
    return `${cannot}: it is owned by uid ${info.uid}, not by uid ${uid} that the listener runs ` +
      `as; chown ${uid} "${path}"`;
  }
  const mode = info.mode ?? 0;
  if ((mode & 0o066) !== 0) {
    return `${cannot}: mode ${octal(mode)} lets group or others read or write it; ` +
      `chmod 600 "${path}"`;
  }
  return undefined;
}

/** Reads a file that must be the very one `lstat` described (no swap in between). */
async function readChecked(path: string, what: string, checked?: Deno.FileInfo): Promise<string> {
  let file;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new Error(`Cannot read ${what} "${path}": ${(error as Error).message}`);
  }
  try {
    const info = await file.stat();
    if (checked !== undefined && (info.dev !== checked.dev || info.ino !== checked.ino)) {
      throw new Error(`Cannot read ${what} "${path}": it was replaced while it was checked`);
    }
    if (!info.isFile) throw new Error(`Cannot read ${what} "${path}": it is not a regular file`);
    if (info.size > MAX_PEM_BYTES) {
      throw new Error(`Cannot read ${what} "${path}": it is over ${MAX_PEM_BYTES} bytes`);
    }
    const bytes = new Uint8Array(info.size);
    let at = 0;
    while (at < bytes.length) {
      const n = await file.read(bytes.subarray(at));
      if (n === null) break;
      at += n;
    }
    return new TextDecoder().decode(bytes.subarray(0, at));
  } finally {
    file.close();
  }
}

/**
 * EC curves a handshake was seen to succeed with here (Deno's TLS serves these, not others: a
 * secp256k1 pair loads, matches its certificate, and then fails every handshake).
 */
const SERVED_CURVES = ["prime256v1", "secp384r1", "secp521r1"];

/** Why Deno's TLS could not serve with this key, or `undefined` when it can. */
function keyTypeProblem(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === "rsa") {
    const bits = details.modulusLength ?? 0;
    return bits >= 2048 ? undefined : `an RSA key of ${bits} bits; use 2048 or more`;
  }
  if (type === "ec") {
    const curve = details.namedCurve ?? "unknown";
    return SERVED_CURVES.includes(curve)
      ? undefined
      : `an EC key on ${curve}; use ${SERVED_CURVES.join(", ")} or RSA`;
  }
  return `a ${type} key; use RSA (2048 bits or more) or EC on ${SERVED_CURVES.join(", ")}`;
}

/**
 * Reads, checks and loads a certificate (chain) and its private key, both PEM.
 *
 * @param certPath The certificate, or a chain with the server's certificate first.
 * @param keyPath Its private key, unencrypted.
 * @param uid The user that reads the key (the listener's), who must own it.
 * @returns Both, and the certificate's fingerprint and expiry.
 * @throws {Error} With one line saying what to fix: an untrusted key file, a file that cannot be
 * read, a certificate or key that does not parse, an expired certificate, or a key that is not
 * the certificate's.
 * @example
 * ```ts
 * import { loadTlsPair } from "./tls_pair.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/cert.pem`, "not a certificate");
 * await Deno.writeTextFile(`${dir}/key.pem`, "not a key", { mode: 0o600 });
 * await assert.rejects(
 *   loadTlsPair(`${dir}/cert.pem`, `${dir}/key.pem`, Deno.uid()!),
 *   /Cannot use TLS certificate/,
 * );
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadTlsPair(
  certPath: string,
  keyPath: string,
  uid: number,
): Promise<TlsPair> {
  let info;
  try {
    info = await Deno.lstat(keyPath);
  } catch (error) {
    throw new Error(`Cannot read TLS key "${keyPath}": ${(error as Error).message}`);
  }
  const problem = keyFileProblem(keyPath, info, uid);
  if (problem !== undefined) throw new Error(problem);
  const key = await readChecked(keyPath, "TLS key", info);
  const cert = await readChecked(certPath, "TLS certificate");
  let x509;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new Error(`Cannot use TLS certificate "${certPath}": it is not a PEM certificate`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new Error(
      `Cannot use TLS key "${keyPath}": it is not an unencrypted PEM private key`,
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new Error(
      `Cannot use TLS key "${keyPath}": it is not the key of certificate "${certPath}"`,
    );
  }
  const unservable = keyTypeProblem(privateKey);
  if (unservable !== undefined) {
    throw new Error(`Cannot use TLS key "${keyPath}": ${unservable}`);
  }
  try {
    // What the server will build from the pair: refusals such as "key too small" show here.
    createSecureContext({ cert, key });
  } catch (error) {
    throw new Error(
      `Cannot use TLS pair "${certPath}", "${keyPath}": ${(error as Error).message}`,
    );
  }
  const validTo = x509.validToDate;
  if (validTo.getTime() <= Date.now()) {
    throw new Error(
      `Cannot use TLS certificate "${certPath}": it expired on ${validTo.toISOString()}`,
    );
  }
  return {
    cert,
    key,
    fingerprint: x509.fingerprint256,
    validTo: validTo.toISOString(),
  };
}
