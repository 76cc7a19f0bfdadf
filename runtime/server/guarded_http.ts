/**
 * The listener's HTTP server, on `node:http` (`node:https` with a certificate) because
 * `Deno.serve` has no connection hook, no header or idle timeout and no connection cap. It
 * listens on a TCP address, a Unix socket path or an inherited descriptor. Each connection is
 * counted and timed from the moment it is accepted, before any TLS handshake, and is either
 * waiting for the client (handshake and headers, then the body), with a deadline, or being
 * answered, with none (a `Prefer: wait` or an event stream may be quiet for a minute): so a
 * handshake that never completes runs into the header deadline like a request that never does.
 * The number of connections is capped, so the descriptors stay below the process limit: at the
 * cap the oldest connection still waiting for headers makes way, and a newcomer is closed only
 * when every connection is being answered. Should accepting stop anyway (Deno's accept loop ends
 * for good on EMFILE), a watchdog notices by connecting to itself and listens again.
 *
 * The server listens itself, rather than being handed sockets a plain `node:net` server
 * accepted: a `node:http` server that is not listening closes every connection after its first
 * answer (no keep-alive). A TLS socket is matched to the connection it was accepted as by its
 * peer's address and port, which is why TLS needs a TCP socket.
 *
 * @module
 */
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import { connect } from "node:net";
import tls from "node:tls";

/** Limits a {@linkcode GuardedServer} holds clients to. */
export interface GuardLimits {
  /** Open connections; more are closed on arrival. */
  readonly maxConnections: number;
  /** From connecting, or from the end of the previous answer, until the headers are in. */
  readonly headerTimeoutMs: number;
  /** From the headers until the whole body is in. */
  readonly bodyTimeoutMs: number;
}

/**
 * Where a {@linkcode GuardedServer} listens: a TCP address, a Unix socket path it creates, or a
 * listening socket it inherited as a descriptor (systemd socket activation).
 */
export type ListenTarget =
  | { readonly host: string; readonly port: number }
  | { readonly path: string }
  | { readonly fd: number };

/** What a guarded server has done, for logs and tests. */
export interface GuardCounts {
  open: number;
  shed: number;
  evicted: number;
  timedOut: number;
  relistens: number;
}

/** How often the watchdog checks that connections are still accepted. */
const WATCHDOG_MS = 2000;
/** How long the watchdog's own connection may take to be accepted. */
const WATCHDOG_WAIT_MS = 1000;

/** A certificate (chain) and its private key, as PEM text. */
export interface TlsPem {
  readonly cert: string;
  readonly key: string;
}

interface Connection {
  /** The accepted socket: destroying it ends the connection, TLS or not. */
  readonly raw: net.Socket;
  deadline?: ReturnType<typeof setTimeout>;
  busy: boolean;
}

/** A TCP peer, which tells a TLS socket's connection among the open ones. */
function peerOf(socket: net.Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** A server that sheds connections and times out slow clients instead of dying. */
export class GuardedServer {
  readonly counts: GuardCounts = { open: 0, shed: 0, evicted: 0, timedOut: 0, relistens: 0 };
  #limits: GuardLimits;
  #handler: http.RequestListener;
  #log: (line: Record<string, unknown>) => void;
  /** By accepted socket, in order of acceptance. */
  #connections = new Map<net.Socket, Connection>();
  /** TLS connections by peer until their handshake ends, then by TLS socket. */
  #byPeer = new Map<string, Connection>();
  #byTls = new WeakMap<net.Socket, Connection>();
  #server: http.Server | https.Server | undefined;
  #tls: TlsPem | undefined;
  #lastAccept = 0;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #target: ListenTarget = { host: "", port: 0 };
  #socketMode: number | undefined;
  #closing = false;
  #closed: (() => void) | undefined;

  constructor(
    limits: GuardLimits,
    handler: http.RequestListener,
    log: (line: Record<string, unknown>) => void,
  ) {
    this.#limits = limits;
    this.#handler = handler;
    this.#log = log;
  }

  /**
   * Serves TLS with this certificate and key: given before {@linkcode listen}, the server speaks
   * only TLS; given again later, each connection from then on gets the new pair and each one
   * already open keeps the one it started with. Deno checks neither file: check them first
   * (`tls_pair.ts`).
   */
  setSecureContext(pem: TlsPem): void {
    const next = { cert: pem.cert, key: pem.key };
    // Kept only once it serves: a refused pair must not come back when the watchdog relistens.
    if (this.#server instanceof https.Server) this.#server.setSecureContext(next);
    else tls.createSecureContext(next);
    this.#tls = next;
  }

  /**
   * Listens; resolves with the bound address (`null` for an inherited Unix socket), rejects when
   * the first listen fails, or when TLS is asked for on a Unix socket. A socket path must not
   * exist yet; once listening, it gets `socketMode` when given.
   */
  listen(target: ListenTarget, socketMode?: number): Promise<net.AddressInfo | string | null> {
    this.#target = target;
    this.#socketMode = socketMode;
    return new Promise((resolve, reject) => {
      const server = this.#create();
      server.once("error", reject);
      this.#listenOn(server, async () => {
        server.off("error", reject);
        const address = server.address();
        try {
          if (this.#tls !== undefined && (typeof address === "string" || address === null)) {
            throw new RangeError("Cannot serve TLS on a Unix socket: it needs a TCP socket");
          }
          if (typeof address === "object" && address !== null && "port" in target) {
            this.#target = { host: target.host, port: address.port };
          }
          await this.#narrow();
        } catch (error) {
          server.close();
          return reject(error);
        }
        // With port 0 the net grant names port 0, not the one picked: the watchdog could
        // neither reach it nor listen there again, so it runs only on a fixed port. An
        // inherited descriptor, once closed, cannot be listened on again.
        const fixed = "path" in target || ("port" in target && target.port !== 0);
        if (fixed) this.#watchdog = setInterval(() => this.#check(), WATCHDOG_MS);
        resolve(address);
      });
    });
  }

  #listenOn(server: net.Server, listening: () => void): void {
    const target = this.#target;
    if ("fd" in target) server.listen({ fd: target.fd }, listening);
    else if ("path" in target) server.listen(target.path, listening);
    else server.listen(target.port, target.host, listening);
  }

  /** Gives a socket file its mode: bind made it from the umask. */
  async #narrow(): Promise<void> {
    if ("path" in this.#target && this.#socketMode !== undefined) {
      await Deno.chmod(this.#target.path, this.#socketMode);
    }
  }

  /**
   * Stops accepting, closes idle connections now and each busy one when its answer ends;
   * resolves when none is left.
   */
  close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#watchdog);
    this.#server?.close();
    const done = new Promise<void>((resolve) => (this.#closed = resolve));
    for (const connection of this.#connections.values()) {
      if (!connection.busy) connection.raw.destroy();
    }
    this.#settle();
    return done;
  }

  #settle(): void {
    if (this.#closing && this.#connections.size === 0) this.#closed?.();
  }

  #connectionOf(socket: net.Socket): Connection | undefined {
    return this.#connections.get(socket) ?? this.#byTls.get(socket);
  }

  #create(): http.Server | https.Server {
    const listener: http.RequestListener = (request, response) => {
      const connection = this.#connectionOf(request.socket);
      if (connection !== undefined) {
        // Headers are in: the body gets its own deadline, and the answer none.
        this.#wait(connection, this.#limits.bodyTimeoutMs);
        connection.busy = true;
        response.on("finish", () => {
          connection.busy = false;
          if (this.#closing) connection.raw.destroy();
          else this.#wait(connection, this.#limits.headerTimeoutMs);
        });
      }
      this.#handler(request, response);
    };
    const server = this.#tls === undefined
      ? http.createServer(listener)
      : https.createServer({ ...this.#tls }, listener);
    // Node's own keep-alive timer, and the header it announces, match the header deadline.
    server.keepAliveTimeout = this.#limits.headerTimeoutMs;
    server.on("connection", (socket: net.Socket) => this.#accept(socket));
    if (server instanceof https.Server) {
      server.on("secureConnection", (socket: tls.TLSSocket) => this.#secured(socket));
      // A failed handshake ends its connection; nothing to log per client.
      server.on("tlsClientError", (_error, socket: tls.TLSSocket) => socket.destroy());
    }
    server.on("error", (error) => this.#log({ kind: "error", message: `${error}` }));
    this.#server = server;
    return server;
  }

  #accept(raw: net.Socket): void {
    this.#lastAccept = Date.now();
    if (this.#closing || !this.#makeRoom()) {
      this.counts.shed++;
      raw.destroy();
      return;
    }
    const connection: Connection = { raw, busy: false };
    const peer = this.#tls === undefined ? undefined : peerOf(raw);
    this.#connections.set(raw, connection);
    if (peer !== undefined) this.#byPeer.set(peer, connection);
    this.counts.open = this.#connections.size;
    raw.setNoDelay(true);
    raw.on("error", () => raw.destroy());
    raw.on("close", () => {
      clearTimeout(connection.deadline);
      this.#connections.delete(raw);
      if (peer !== undefined && this.#byPeer.get(peer) === connection) this.#byPeer.delete(peer);
      this.counts.open = this.#connections.size;
      this.#settle();
    });
    // The handshake, if any, is part of what the client owes before its headers.
    this.#wait(connection, this.#limits.headerTimeoutMs);
  }

  /** A TLS handshake ended: its socket is served under the connection it was accepted as. */
  #secured(socket: tls.TLSSocket): void {
    const peer = peerOf(socket);
    const connection = this.#byPeer.get(peer);
    if (connection === undefined) return void socket.destroy();
    this.#byPeer.delete(peer);
    this.#byTls.set(socket, connection);
    socket.on("close", () => connection.raw.destroy());
  }

  /**
   * Whether one more connection fits: at the cap, the oldest connection still waiting for its
   * client's headers makes way, so idle sockets, however many a client opens, cannot lock out
   * one that sends a request at once. Only when every connection is being answered is the
   * newcomer refused.
   */
  #makeRoom(): boolean {
    if (this.#connections.size < this.#limits.maxConnections) return true;
    for (const [raw, connection] of this.#connections) {
      if (connection.busy) continue;
      this.counts.evicted++;
      raw.destroy();
      // Destroying closes asynchronously: forget it now so the count is right at once.
      clearTimeout(connection.deadline);
      this.#connections.delete(raw);
      return true;
    }
    return false;
  }

  /** Gives the client `ms` to send what it owes; {@linkcode answering} stops the clock. */
  #wait(connection: Connection, ms: number): void {
    clearTimeout(connection.deadline);
    connection.deadline = setTimeout(() => {
      this.counts.timedOut++;
      connection.raw.destroy();
    }, ms);
  }

  /** Stops the body's deadline once the body is in, so the answer may take its time. */
  answering(socket: net.Socket): void {
    const connection = this.#connectionOf(socket);
    if (connection !== undefined) clearTimeout(connection.deadline);
  }

  /** Connects to itself; when that is not accepted in time, listens again. */
  #check(): void {
    const target = this.#target;
    if (this.#closing || "fd" in target) return;
    const started = Date.now();
    // The bound address itself: the net grant names it, and on Linux 0.0.0.0 and :: reach us.
    const probe = "path" in target ? connect(target.path) : connect(target.port, target.host);
    probe.on("error", () => undefined);
    probe.on("connect", () => probe.destroy());
    setTimeout(() => {
      probe.destroy();
      if (this.#closing || this.#lastAccept >= started) return;
      this.counts.relistens++;
      this.#log({ kind: "error", message: "Connections are no longer accepted; listening again" });
      const deaf = this.#server;
      let next;
      try {
        // (#create makes the new server the one in force.)
        next = this.#create();
      } catch (error) {
        // The server in hand stays: a deaf server may still recover, a closed one never.
        this.#log({ kind: "error", message: `Cannot listen again yet: ${error}` });
        return;
      }
      deaf?.close();
      try {
        this.#listenOn(next, () => void this.#narrow().catch(() => undefined));
      } catch (error) {
        this.#log({ kind: "error", message: `Cannot listen again yet: ${error}` });
      }
    }, WATCHDOG_WAIT_MS);
  }
}
