/**
 * The listener's kept connections to the executor: a request takes an idle one (or connects), and
 * gives it back once its answer ended cleanly, so a request pays no connect and the executor no
 * accept. One request at a time per connection, never pipelined; a connection whose answer broke
 * off, was cancelled or left bytes behind is closed, never reused. Idle ones close after
 * {@linkcode IDLE_MS}, before the executor's own wait for a request line (5 s) runs out.
 *
 * @module
 */
import { type Line, LineReader } from "../process/lines.ts";
import { MAX_LINE_BYTES } from "./bridge.ts";

/** How long a connection is kept unused. */
export const IDLE_MS = 2_000;

/** Idle connections kept at most; a burst beyond them closes its extra ones afterwards. */
export const MAX_IDLE = 16;

/** One connection to the executor, with its line reader. */
export class BridgeConnection {
  readonly conn: Deno.Conn;
  readonly #lines: LineReader;
  /** A read already under way (the one that watched it while idle): the next line's. */
  #pending: Promise<Line> | undefined;
  /** Whether it served a request before this one (a retry is safe only then). */
  readonly reused: boolean;
  #closed = false;

  constructor(conn: Deno.Conn, lines: LineReader, reused: boolean, pending?: Promise<Line>) {
    this.conn = conn;
    this.#lines = lines;
    this.reused = reused;
    this.#pending = pending;
  }

  /** The next line from the executor. */
  next(): Promise<Line> {
    const pending = this.#pending;
    this.#pending = undefined;
    return pending ?? this.#lines.next();
  }

  /** Bytes read past the last line: a connection with any may not serve another request. */
  get buffered(): boolean {
    return this.#pending !== undefined || this.#lines.buffered;
  }

  /** The same connection for the next request, its idle watch read handed on. */
  again(watch: Promise<Line>): BridgeConnection {
    return new BridgeConnection(this.conn, this.#lines, true, watch);
  }

  /** Closes it; closing twice is nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed by the peer
    }
  }

  get closed(): boolean {
    return this.#closed;
  }
}

interface Idle {
  readonly connection: BridgeConnection;
  readonly timer: ReturnType<typeof setTimeout>;
  /** The read that watches it while idle: anything it gets (a line, the end) retires it. */
  readonly watch: Promise<Line>;
}

/** Kept connections to one executor socket. */
export class BridgeConnections {
  readonly #socket: string;
  readonly #idle: Idle[] = [];

  /** @param socket The executor's socket path. */
  constructor(socket: string) {
    this.#socket = socket;
  }

  /** Idle connections now; for tests. */
  get idle(): number {
    return this.#idle.length;
  }

  /**
   * An idle connection, or a new one when none is idle (or `fresh`).
   *
   * @throws When the socket cannot be connected to.
   */
  async take(fresh = false): Promise<BridgeConnection> {
    // An idle connection on which bytes or the end arrived was dropped by its watch already.
    const kept = fresh ? undefined : this.#idle.pop();
    if (kept !== undefined) {
      clearTimeout(kept.timer);
      return kept.connection.again(kept.watch);
    }
    const conn = await Deno.connect({ transport: "unix", path: this.#socket });
    return new BridgeConnection(conn, new LineReader(conn, MAX_LINE_BYTES), false);
  }

  /** Gives back a connection whose answer ended cleanly; past {@linkcode MAX_IDLE} it closes. */
  give(connection: BridgeConnection): void {
    if (connection.closed || this.#idle.length >= MAX_IDLE || connection.buffered) {
      connection.close();
      return;
    }
    const watch = connection.next();
    const kept: Idle = {
      connection,
      watch,
      timer: setTimeout(() => this.#drop(kept), IDLE_MS),
    };
    // An idle connection never keeps the listener (or a test) alive.
    // (Under node:http's types a timer is an object whose number is its id.)
    Deno.unrefTimer(Number(kept.timer));
    // Bytes or the end while idle: the executor closed it (a restart) or broke the protocol.
    watch.then(() => this.#drop(kept), () => this.#drop(kept));
    this.#idle.push(kept);
  }

  #drop(kept: Idle): void {
    const at = this.#idle.indexOf(kept);
    if (at < 0) return;
    this.#idle.splice(at, 1);
    clearTimeout(kept.timer);
    kept.connection.close();
  }

  /** Closes every idle connection. */
  close(): void {
    for (const kept of this.#idle.splice(0)) {
      clearTimeout(kept.timer);
      kept.connection.close();
    }
  }
}

const bySocket = new Map<string, BridgeConnections>();

/** The kept connections to one executor socket, one set per socket for the process. */
export function connectionsTo(socket: string): BridgeConnections {
  let connections = bySocket.get(socket);
  if (connections === undefined) {
    connections = new BridgeConnections(socket);
    bySocket.set(socket, connections);
  }
  return connections;
}
