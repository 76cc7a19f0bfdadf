import assert from "node:assert/strict";
import { newSecret, verifyingSecret } from "../signing.ts";
import { type HmacSign, MAX_SIGNATURES, type VerifyingKey, verifySignature } from "./signature.ts";

// Standard Webhooks test vector (spec libraries' TestWebhookSign).
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS = 1614265330;
const BODY = new TextEncoder().encode('{"test": 2432232314}');
const SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

async function key(id: string, secrets: string[]): Promise<VerifyingKey> {
  return { id, secrets: await Promise.all(secrets.map(verifyingSecret)) };
}

function headers(signature: string, id = ID, ts = String(TS)): Headers {
  return new Headers({ "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": signature });
}

/** The real HMAC, counting its calls. */
function countingSign(): { sign: HmacSign; calls(): number } {
  let calls = 0;
  return {
    sign(key, data) {
      calls++;
      return crypto.subtle.sign("HMAC", key, data);
    },
    calls: () => calls,
  };
}

/** `count` well-formed v1 entries that match no key. */
function wrongSignatures(count: number): string {
  return Array.from({ length: count }, (_, i) => `v1,${btoa(String(i).padEnd(32, "x"))}`)
    .join(" ");
}

Deno.test("verifySignature() accepts the spec vector and names the key", async () => {
  const keys = [await key("other", [newSecret()]), await key("automation", [SECRET])];
  const verified = await verifySignature(headers(SIGNATURE), BODY, { keys, nowSeconds: TS });
  assert.deepEqual(verified.ok && [verified.key.id, verified.deliveryId], ["automation", ID]);
});

Deno.test("verifySignature() refuses a wrong secret, a changed byte and garbage", async () => {
  const wrong = [await key("automation", [newSecret()])];
  const right = { keys: [await key("automation", [SECRET])], nowSeconds: TS };
  const refused = await verifySignature(headers(SIGNATURE), BODY, { keys: wrong, nowSeconds: TS });
  assert.equal(refused.ok ? "ok" : refused.code, "signature_invalid");
  const changed = new Uint8Array(BODY);
  changed[3]! ^= 1;
  const results = await Promise.all([
    verifySignature(headers(SIGNATURE), changed, right),
    verifySignature(headers("v1,dawfeoifkpqwoekfpqoekf"), BODY, right),
    verifySignature(headers("v1,"), BODY, right),
    verifySignature(headers(""), BODY, right),
    verifySignature(headers(SIGNATURE.replace("v1", "v2")), BODY, right),
    verifySignature(headers(SIGNATURE, "msg_other"), BODY, right),
  ]);
  for (const result of results) {
    assert.deepEqual(result.ok ? "ok" : result.code, "signature_invalid");
  }
});

Deno.test("verifySignature() accepts rotation: any listed signature, any of a key's secrets", async () => {
  const rotated = [await key("automation", [newSecret(), SECRET])];
  const verified = await verifySignature(headers(SIGNATURE), BODY, {
    keys: rotated,
    nowSeconds: TS,
  });
  assert.equal(verified.ok, true);
  const several = `v1,Zm9v v1a,${"A".repeat(43)}= ${wrongSignatures(5)} ${SIGNATURE}`;
  const keys = [await key("automation", [SECRET])];
  assert.equal((await verifySignature(headers(several), BODY, { keys, nowSeconds: TS })).ok, true);
});

Deno.test("verifySignature() refuses timestamps more than 300 s old or ahead", async () => {
  const keys = [await key("automation", [SECRET])];
  for (const nowSeconds of [TS + 301, TS - 301]) {
    const result = await verifySignature(headers(SIGNATURE), BODY, { keys, nowSeconds });
    assert.equal(result.ok ? "ok" : result.code, "signature_expired", String(nowSeconds));
  }
  for (const nowSeconds of [TS + 300, TS - 300]) {
    assert.equal((await verifySignature(headers(SIGNATURE), BODY, { keys, nowSeconds })).ok, true);
  }
});

Deno.test("verifySignature() refuses missing or malformed headers as missing", async () => {
  const keys = [await key("automation", [SECRET])];
  const cases = [
    new Headers(),
    new Headers({ "webhook-signature": SIGNATURE, "webhook-timestamp": String(TS) }),
    headers(SIGNATURE, ID, "soon"),
    headers(SIGNATURE, ID, "1e9"),
    headers(SIGNATURE, ID, "-1614265330"),
    headers(SIGNATURE, "has.dot"),
    headers(SIGNATURE, "has space"),
    headers(SIGNATURE, "x".repeat(256)),
  ];
  for (const h of cases) {
    const result = await verifySignature(h, BODY, { keys, nowSeconds: TS });
    assert.equal(result.ok ? "ok" : result.code, "signature_missing");
  }
});

Deno.test("verifySignature() no longer accepts GitHub's X-Hub-Signature-256 (docs vector)", async () => {
  const h = new Headers({
    "x-hub-signature-256":
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
  });
  const body = new TextEncoder().encode("Hello, World!");
  const keys = [await key("ci", [SECRET])];
  const result = await verifySignature(h, body, { keys, nowSeconds: TS });
  assert.deepEqual(result.ok ? "ok" : [result.code, /X-Hub-Signature-256/.test(result.detail)], [
    "signature_missing",
    true,
  ]);
});

Deno.test("verifySignature() refuses 1,300 v1 signatures as invalid without computing any HMAC", async () => {
  const keys = [await key("a", [newSecret(), newSecret()]), await key("b", [SECRET])];
  const counter = countingSign();
  const many = headers(Array.from({ length: 1300 }, () => "v1,").join(" "));
  const result = await verifySignature(many, BODY, { keys, nowSeconds: TS, sign: counter.sign });
  assert.equal(result.ok ? "ok" : result.code, "signature_invalid");
  assert.match(result.ok ? "" : result.detail, /webhook-signature is longer than/);
  const nine = await verifySignature(
    headers(Array(MAX_SIGNATURES + 1).fill("v1,Zm9v").join(" ")),
    BODY,
    {
      keys,
      nowSeconds: TS,
      sign: counter.sign,
    },
  );
  assert.match(nine.ok ? "" : nine.detail, /lists 9 signatures; at most 8/);
  assert.equal(counter.calls(), 0);
});

Deno.test("verifySignature() checks id and timestamp before any HMAC", async () => {
  const keys = [await key("a", [SECRET])];
  const counter = countingSign();
  const options = { keys, nowSeconds: TS, sign: counter.sign };
  await verifySignature(headers(SIGNATURE), BODY, { ...options, nowSeconds: TS + 10_000 });
  await verifySignature(headers(SIGNATURE, "bad.id"), BODY, options);
  await verifySignature(headers(SIGNATURE, ID, "later"), BODY, options);
  await verifySignature(headers("v2,abc"), BODY, options);
  assert.equal(counter.calls(), 0);
});

Deno.test("verifySignature() computes one HMAC per secret, however many signatures are listed", async () => {
  const keys = [
    await key("a", [newSecret(), newSecret()]),
    await key("b", [newSecret(), newSecret(), newSecret()]),
  ];
  const secrets = 5;
  for (const count of [1, 2, MAX_SIGNATURES]) {
    const counter = countingSign();
    const result = await verifySignature(headers(wrongSignatures(count)), BODY, {
      keys,
      nowSeconds: TS,
      sign: counter.sign,
    });
    assert.equal(result.ok ? "ok" : result.code, "signature_invalid");
    assert.equal(counter.calls(), secrets, `${count} signatures`);
  }
  // A valid request for the last secret costs the same: refusing is no dearer than accepting.
  const last = [...keys, await key("c", [SECRET])];
  const counter = countingSign();
  const verified = await verifySignature(headers(SIGNATURE), BODY, {
    keys: last,
    nowSeconds: TS,
    sign: counter.sign,
  });
  assert.equal(verified.ok, true);
  assert.equal(counter.calls(), secrets + 1);
});
