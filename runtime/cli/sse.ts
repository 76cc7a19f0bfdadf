/**
 * Reading a `text/event-stream` as the HTML standard's EventSource does: lines end at CRLF, LF or
 * CR; `event`, `data` and `id` fields; a blank line dispatches. Used by `deno task send follow`
 * and by tests.
 *
 * @module
 */

/** One dispatched event. */
export interface ServerEvent {
  /** Its `event:` field, `message` without one. */
  readonly event: string;
  /** Its `data:` lines, joined by LF. */
  readonly data: string;
  /** Its `id:`, or the last one before it; `undefined` while the stream gave none. */
  readonly id: string | undefined;
}

/**
 * The events of a stream as they come. A block cut off by the stream's end is not an event.
 *
 * @param body The stream's bytes.
 * @returns The events, in order.
 * @example
 * ```ts
 * import { readEvents } from "./sse.ts";
 * import assert from "node:assert/strict";
 * const body = new Blob(["event: queued\r\ndata: {}\nid: 1\n\ndata: x\n"]).stream();
 * const events = await Array.fromAsync(readEvents(body));
 * assert.deepEqual(events, [{ event: "queued", data: "{}", id: "1" }]);
 * ```
 */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (;;) {
      const found = /\r\n|\r|\n/.exec(buffer);
      // A CR at the very end may be the first half of a CRLF.
      if (found === null || (found[0] === "\r" && found.index === buffer.length - 1)) break;
      const line = buffer.slice(0, found.index);
      buffer = buffer.slice(found.index + found[0].length);
      if (line === "") {
        if (data.length > 0) yield { event: event || "message", data: data.join("\n"), id };
        event = "";
        data = [];
        continue;
      }
      const colon = line.indexOf(":");
      if (colon === 0) continue;
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id" && !value.includes("\0")) id = value;
    }
  }
}
