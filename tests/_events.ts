/**
 * Reads a job's server-sent events in tests, one at a time, with the CLI's own parser.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readEvents, type ServerEvent } from "../runtime/cli/sse.ts";

/** An open event stream. */
export interface EventStream {
  /** The next event; fails the test when the stream ended. */
  next(): Promise<ServerEvent>;
  /** The next `n` events. */
  take(n: number): Promise<ServerEvent[]>;
  /** Every event until the stream ends. */
  rest(): Promise<ServerEvent[]>;
  /** Drops the stream, as a client that goes away. */
  close(): Promise<unknown>;
}

/** The events of a `GET /jobs/<id>/events` answer, which must be 200. */
export async function eventStream(response: Response): Promise<EventStream> {
  if (response.status !== 200) assert.fail(`${response.status}: ${await response.text()}`);
  const iterator = readEvents(response.body!);
  const next = async () => {
    const { value, done } = await iterator.next();
    assert.ok(!done, "the stream ended");
    return value;
  };
  return {
    next,
    async take(n) {
      const events: ServerEvent[] = [];
      while (events.length < n) events.push(await next());
      return events;
    },
    rest: () => Array.fromAsync(iterator),
    close: () => iterator.return(undefined),
  };
}
