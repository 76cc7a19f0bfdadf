/**
 * The listener's HTTP server, on `node:http` because `Deno.serve` has no connection hook, no
 * header or idle timeout and no connection cap. Each connection is either waiting for the client
 * (headers, then the body), with a deadline, or being answered, with none (a `Prefer: wait` or an
 * event stream may be quiet for a minute). The number of connections is capped, so the
 * descriptors stay below the process limit: at the cap the oldest connection still waiting for
 * headers makes way, and a newcomer is closed only when every connection is being answered. Should accepting stop anyway (Deno's accept
 * loop ends for good on EMFILE), a watchdog notices by connecting to itself and listens again.
 *
 * @module
 */
import http from "node:http";
import net from "node:net";

/** Limits a {@linkcode GuardedServer} holds clients to. */
export interface GuardLimits {
  /** Open connections; more are closed on arrival. */
  readonly maxConnections: number;
  /** From connecting, or from the end of the previous answer, until the headers are in. */
  readonly headerTimeoutMs: number;
  /** From the headers until the whole body is in. */
  readonly bodyTimeoutMs: number;
}

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

interface Connection {
  deadline?: ReturnType<typeof setTimeout>;
  busy: boolean;
}

/** A server that sheds connections and times out slow clients instead of dying. */
export class GuardedServer {
  readonly counts: GuardCounts = { open: 0, shed: 0, evicted: 0, timedOut: 0, relistens: 0 };
  #limits: GuardLimits;
  #handler: http.RequestListener;
  #log: (line: Record<string, unknown>) => void;
  #connections = new Map<net.Socket, Connection>();
  #server: http.Server | undefined;
  #lastAccept = 0;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #host = "";
  #port = 0;
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

  /** Listens; resolves with the bound port, rejects when the first listen fails. */
  listen(host: string, port: number): Promise<number> {
    this.#host = host;
    return new Promise((resolve, reject) => {
      const server = this.#create();
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        this.#port = (server.address() as net.AddressInfo).port;
        // With port 0 the net grant names port 0, not the one picked: the watchdog could
        // neither reach it nor listen there again, so it runs only on a fixed port.
        if (port !== 0) this.#watchdog = setInterval(() => this.#check(), WATCHDOG_MS);
        resolve(this.#port);
      });
    });
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
    for (const [socket, connection] of this.#connections) {
      if (!connection.busy) socket.destroy();
    }
    this.#settle();
    return done;
  }

  #settle(): void {
    if (this.#closing && this.#connections.size === 0) this.#closed?.();
  }

  #create(): http.Server {
    const server = http.createServer((request, response) => {
      const connection = this.#connections.get(request.socket);
      if (connection !== undefined) {
        // Headers are in: the body gets its own deadline, and the answer none.
        this.#wait(request.socket, connection, this.#limits.bodyTimeoutMs);
        connection.busy = true;
        response.on("finish", () => {
          connection.busy = false;
          if (this.#closing) request.socket.destroy();
          else this.#wait(request.socket, connection, this.#limits.headerTimeoutMs);
        });
      }
      this.#handler(request, response);
    });
    // Node's own keep-alive timer, and the header it announces, match the header deadline.
    server.keepAliveTimeout = this.#limits.headerTimeoutMs;
    server.on("connection", (socket: net.Socket) => this.#accept(socket));
    server.on("error", (error) => this.#log({ kind: "error", message: `${error}` }));
    this.#server = server;
    return server;
  }

  #accept(socket: net.Socket): void {
    this.#lastAccept = Date.now();
    if (this.#closing || !this.#makeRoom()) {
      this.counts.shed++;
      socket.destroy();
      return;
    }
    const connection: Connection = { busy: false };
    this.#connections.set(socket, connection);
    this.counts.open = this.#connections.size;
    socket.setNoDelay(true);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      clearTimeout(connection.deadline);
      this.#connections.delete(socket);
      this.counts.open = this.#connections.size;
      this.#settle();
    });
    this.#wait(socket, connection, this.#limits.headerTimeoutMs);
  }

  /**
   * Whether one more connection fits: at the cap, the oldest connection still waiting for its
   * client's headers makes way, so idle sockets, however many a client opens, cannot lock out
   * one that sends a request at once. Only when every connection is being answered is the
   * newcomer refused.
   */
  #makeRoom(): boolean {
    if (this.#connections.size < this.#limits.maxConnections) return true;
    for (const [socket, connection] of this.#connections) {
      if (connection.busy) continue;
      this.counts.evicted++;
      socket.destroy();
      // Destroying closes asynchronously: forget it now so the count is right at once.
      clearTimeout(connection.deadline);
      this.#connections.delete(socket);
      return true;
    }
    return false;
  }

  /** Gives the client `ms` to send what it owes; {@linkcode answering} stops the clock. */
  #wait(socket: net.Socket, connection: Connection, ms: number): void {
    clearTimeout(connection.deadline);
    connection.deadline = setTimeout(() => {
      this.counts.timedOut++;
      socket.destroy();
    }, ms);
  }

  /** Stops the body's deadline once the body is in, so the answer may take its time. */
  answering(socket: net.Socket): void {
    const connection = this.#connections.get(socket);
    if (connection !== undefined) clearTimeout(connection.deadline);
  }

  /** Connects to itself; when that is not accepted in time, listens again. */
  #check(): void {
    if (this.#closing) return;
    const started = Date.now();
    // The bound address itself: the net grant names it, and on Linux 0.0.0.0 and :: reach us.
    const probe = net.connect(this.#port, this.#host);
    probe.on("error", () => undefined);
    probe.on("connect", () => probe.destroy());
    setTimeout(() => {
      probe.destroy();
      if (this.#closing || this.#lastAccept >= started) return;
      this.counts.relistens++;
      this.#log({ kind: "error", message: "Connections are no longer accepted; listening again" });
      this.#server?.close();
      try {
        this.#create().listen(this.#port, this.#host);
      } catch (error) {
        this.#log({ kind: "error", message: `Cannot listen again yet: ${error}` });
      }
    }, WATCHDOG_WAIT_MS);
  }
}
