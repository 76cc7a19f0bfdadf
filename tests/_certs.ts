/**
 * Self-signed certificates made by `openssl` for the TLS tests, and the peer certificate a TLS
 * server really presents.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import tls from "node:tls";

/** A certificate and its key, as files, with its PEM and fingerprint. */
export interface Cert {
  readonly cert: string;
  readonly key: string;
  readonly pem: string;
  /** SHA-256, colon-separated hex, as node:tls reports a peer's. */
  readonly fingerprint: string;
}

/** Why the TLS tests cannot run here, or `undefined` when `openssl` is installed. */
export async function opensslMissing(): Promise<string | undefined> {
  try {
    const output = await new Deno.Command("openssl", { args: ["version"], stdout: "null" })
      .output();
    return output.code === 0 ? undefined : "openssl does not run";
  } catch {
    return "needs openssl (apt-get install openssl) to make a self-signed certificate";
  }
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const output = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (output.code !== 0) {
    throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

const CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/**
 * Makes `<dir>/<name>.pem` and `<dir>/<name>.key` (0600): a P-256 certificate for 127.0.0.1 and
 * localhost, valid for a day, or one that expired in 2020.
 */
export async function makeCert(
  dir: string,
  name: string,
  options: {
    readonly expired?: boolean;
    /** openssl's key arguments instead of a P-256 key, e.g. `["-newkey", "rsa:1024"]`. */
    readonly newKey?: readonly string[];
  } = {},
): Promise<Cert> {
  const keyArgs = [...(options.newKey ?? CURVE.slice(0, -1)), "-nodes"];
  const cert = `${dir}/${name}.pem`;
  const key = `${dir}/${name}.key`;
  const subject = ["-subj", "/CN=localhost"];
  if (options.expired) {
    // `req -x509` takes only a positive -days: a CA of one signs it with fixed past dates.
    const ca = await Deno.makeTempDir({ dir, prefix: "ca-" });
    await Deno.writeTextFile(`${ca}/index.txt`, "");
    await Deno.writeTextFile(
      `${ca}/ca.cnf`,
      `[ca]\ndefault_ca=d\n[d]\ndatabase=${ca}/index.txt\nnew_certs_dir=${ca}\n` +
        `default_md=sha256\npolicy=p\nrand_serial=yes\n[p]\ncommonName=supplied\n`,
    );
    await openssl(["req", "-new", ...CURVE, "-keyout", key, "-out", `${ca}/csr`, ...subject], dir);
    await openssl([
      "ca",
      "-batch",
      "-notext",
      "-selfsign",
      "-config",
      `${ca}/ca.cnf`,
      "-keyfile",
      key,
      "-in",
      `${ca}/csr`,
      "-out",
      cert,
      "-startdate",
      "20200101000000Z",
      "-enddate",
      "20200102000000Z",
    ], dir);
  } else {
    await openssl([
      "req",
      "-x509",
      ...keyArgs,
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      ...subject,
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      // An end-entity certificate: rustls refuses a CA certificate as a server's.
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ], dir);
  }
  await Deno.chmod(key, 0o600);
  const pem = await Deno.readTextFile(cert);
  return { cert, key, pem, fingerprint: new X509Certificate(pem).fingerprint256 };
}

/** The fingerprint of the certificate a TLS server at `port` presents to a new connection. */
export function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
  });
}
