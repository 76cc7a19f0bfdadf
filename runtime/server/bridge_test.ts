import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BridgeReply,
  BridgeRequest,
  bridgeRequest,
  CHUNK_BYTES,
  FORWARDED_HEADERS,
  forwardedHeaders,
  fromBase64,
  MAX_BODY_BYTES,
  toBase64,
} from "./bridge.ts";

const valid = {
  method: "POST",
  path: "/hooks/sensors?x=1",
  headers: [["webhook-id", "msg_1"]],
  body: toBase64(new TextEncoder().encode("{}")),
};

Deno.test("BridgeRequest accepts a forwarded request and nothing beside it", () => {
  assert.equal(BridgeRequest.safeParse(valid).success, true);
  const refused: unknown[] = [
    { ...valid, admin: true },
    { ...valid, method: "TRACE" },
    { ...valid, method: "post" },
    { ...valid, path: "hooks/sensors" },
    { ...valid, path: "/hooks/sensors\r\nx: y" },
    { ...valid, path: "/hooks /sensors" },
    { ...valid, path: "http://evil/hooks/sensors" },
    { ...valid, headers: [["Webhook-Id", "x"]] },
    { ...valid, headers: [["webhook-id\r\nx", "x"]] },
    { ...valid, headers: [["webhook-id", "y".repeat(8193)]] },
    { ...valid, headers: [["content-length", "0"]] },
    { ...valid, headers: [["x-forwarded-for", "10.0.0.1"]] },
    { ...valid, headers: [["webhook-id", "a"], ["webhook-id", "b"]] },
    { ...valid, headers: Array.from({ length: 65 }, (_, i) => [`h${i}`, "v"]) },
    { ...valid, body: "not base64!" },
    { ...valid, body: toBase64(new Uint8Array(MAX_BODY_BYTES + 3)) },
    { ...valid, body: undefined },
  ];
  for (const frame of refused) {
    assert.equal(BridgeRequest.safeParse(frame).success, false, JSON.stringify(frame).slice(0, 80));
  }
});

Deno.test("BridgeReply is a whole answer, a head, a chunk or the end, exactly", () => {
  assert.equal(
    BridgeReply.safeParse({ status: 202, headers: [["location", "/jobs/1"]] }).success,
    true,
  );
  const whole = { status: 200, headers: [], body: toBase64(new Uint8Array(CHUNK_BYTES)) };
  assert.equal(BridgeReply.safeParse(whole).success, true);
  const refused = [
    { ...whole, body: toBase64(new Uint8Array(CHUNK_BYTES + 1)) },
    { ...whole, body: "not base64!" },
    { ...whole, chunk: whole.body },
    { ...whole, end: true },
  ];
  for (const reply of refused) {
    assert.equal(BridgeReply.safeParse(reply).success, false, JSON.stringify(reply).slice(0, 80));
  }
  assert.equal(BridgeReply.safeParse({ chunk: toBase64(new Uint8Array([1, 2])) }).success, true);
  assert.equal(BridgeReply.safeParse({ end: true }).success, true);
  for (
    const reply of [{ status: 99, headers: [] }, { end: false }, { chunk: 1 }, {}, {
      end: true,
      x: 1,
    }]
  ) {
    assert.equal(BridgeReply.safeParse(reply).success, false, JSON.stringify(reply));
  }
});

Deno.test("bridgeRequest() forwards only the headers the app reads, and the body byte for byte", () => {
  const body = new Uint8Array(256).map((_, i) => i);
  const line = bridgeRequest(
    "POST",
    "/hooks/smart",
    forwardedHeaders([
      "Webhook-Id",
      "msg_2",
      "webhook-signature",
      "v1,abc",
      "Cookie",
      "session=1",
      "Authorization",
      "Bearer x",
      "X-Forwarded-For",
      "10.0.0.1",
    ]),
    body,
  );
  // A metrics scrape's bearer token is forwarded; cookies and proxy headers never are.
  assert.deepEqual(line.headers, [
    ["authorization", "Bearer x"],
    ["webhook-id", "msg_2"],
    ["webhook-signature", "v1,abc"],
  ]);
  assert.deepEqual(fromBase64(line.body), body);
});

Deno.test("bridgeRequest() throws for what the schema refuses, so the listener answers 400", () => {
  assert.throws(() => bridgeRequest("TRACE", "/", [], new Uint8Array()));
  assert.throws(() => bridgeRequest("GET", "/a b", [], new Uint8Array()));
  const long = forwardedHeaders(["prefer", "x".repeat(8193)]);
  assert.throws(() => bridgeRequest("GET", "/", long, new Uint8Array()));
});

Deno.test("forwardedHeaders() reads raw header lines as a Headers object would", () => {
  const raw = [
    "Host",
    "localhost",
    "WEBHOOK-ID",
    "\t msg_1 ",
    "webhook-signature",
    "v1,a",
    "Webhook-Signature",
    "v1,b",
    "Content-Type",
    "application/json",
  ];
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const expected = FORWARDED_HEADERS.flatMap((name) => {
    const value = headers.get(name);
    return value === null ? [] : [[name, value]];
  });
  assert.deepEqual(forwardedHeaders(raw), expected);
  assert.deepEqual(forwardedHeaders(raw).find(([name]) => name === "webhook-signature"), [
    "webhook-signature",
    "v1,a, v1,b",
  ]);
});

Deno.test("forwardedHeaders() equals a Headers object's reading for any header lines node passes", () => {
  // Names in any case, forwarded or not; values of what node's parser lets through (no NUL, CR
  // or LF), with spaces and tabs around them.
  const name = fc.oneof(
    fc.constantFrom(...FORWARDED_HEADERS, "cookie", "x-forwarded-for", "host"),
    fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/),
  ).chain((n) =>
    fc.array(fc.boolean(), { minLength: n.length, maxLength: n.length }).map((upper) =>
      [...n].map((ch, i) => upper[i] ? ch.toUpperCase() : ch).join("")
    )
  );
  const value = fc.tuple(
    fc.constantFrom("", " ", "\t", " \t "),
    fc.string({
      unit: fc.constantFrom("a", "Z", "0", ",", " ", "\t", "=", "\u00e9", "\u00ff"),
      maxLength: 8,
    }),
    fc.constantFrom("", " ", "\t"),
  ).map(([before, middle, after]) => before + middle + after);
  fc.assert(
    fc.property(fc.array(fc.tuple(name, value), { maxLength: 12 }), (pairs) => {
      const headers = new Headers();
      for (const [n, v] of pairs) headers.append(n, v);
      const expected = FORWARDED_HEADERS.flatMap((n) => {
        const v = headers.get(n);
        return v === null ? [] : [[n, v]];
      });
      assert.deepEqual(forwardedHeaders(pairs.flat()), expected);
    }),
    { numRuns: 500 },
  );
});
