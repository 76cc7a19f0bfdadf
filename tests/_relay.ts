/**
 * A TCP relay on loopback for tests: clients connect to it instead of the receiver, and the
 * test can cut every connection at once, as a flaky network or a restarting proxy would.
 *
 * @module
 */

/** A running relay. */
export interface Relay {
  /** Where clients connect, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Closes every connection open now; new ones are relayed as before. */
  drop(): void;
  /** Stops listening and closes everything. */
  close(): Promise<void>;
}

/** Relays `127.0.0.1:<port>` to the receiver at `target` (`http://127.0.0.1:<port>`). */
export function startRelay(target: string): Relay {
  const targetPort = Number(new URL(target).port);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const close = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  const relay = async (client: Deno.Conn) => {
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    } catch {
      return close(client);
    }
    open.add(client);
    open.add(upstream);
    await Promise.all([
      client.readable.pipeTo(upstream.writable).catch(() => {}),
      upstream.readable.pipeTo(client.writable).catch(() => {}),
    ]);
    close(client);
    close(upstream);
  };
  const accepting = (async () => {
    try {
      for await (const client of listener) void relay(client);
    } catch {
      // closed
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    drop() {
      for (const conn of [...open]) close(conn);
    },
    async close() {
      listener.close();
      await accepting;
      for (const conn of [...open]) close(conn);
    },
  };
}
