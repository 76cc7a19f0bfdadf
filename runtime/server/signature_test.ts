import assert from "node:assert/strict";
import {
  newSecret,
  signStandard,
  type VerifyingKey,
  verifyingSecret,
  verifySignature,
} from "./signature.ts";

// Standard Webhooks test vector (spec libraries' TestWebhookSign).
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS = 1614265330;
const BODY = new TextEncoder().encode('{"test": 2432232314}');
const SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

async function key(id: string, secrets: string[], github = false): Promise<VerifyingKey> {
  return { id, github, secrets: await Promise.all(secrets.map(verifyingSecret)) };
}

function headers(signature: string, id = ID, ts = String(TS)): Headers {
  return new Headers({ "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": signature });
}

Deno.test("signStandard() reproduces the spec's test vector", async () => {
  assert.equal(await signStandard(SECRET, ID, String(TS), BODY), SIGNATURE);
});

Deno.test("verifySignature() accepts the spec vector and names the key", async () => {
  const keys = [await key("other", [newSecret()]), await key("automation", [SECRET])];
  const verified = await verifySignature(headers(SIGNATURE), BODY, keys, TS);
  assert.deepEqual(verified.ok && [verified.key.id, verified.deliveryId], ["automation", ID]);
});

Deno.test("verifySignature() refuses a wrong secret, a changed byte and garbage", async () => {
  const keys = [await key("automation", [newSecret()])];
  assert.equal((await verifySignature(headers(SIGNATURE), BODY, keys, TS)).ok, false);
  const right = [await key("automation", [SECRET])];
  const changed = new Uint8Array(BODY);
  changed[3]! ^= 1;
  const results = await Promise.all([
    verifySignature(headers(SIGNATURE), changed, right, TS),
    verifySignature(headers("v1,dawfeoifkpqwoekfpqoekf"), BODY, right, TS),
    verifySignature(headers("v1,"), BODY, right, TS),
    verifySignature(headers(SIGNATURE.replace("v1", "v2")), BODY, right, TS),
    verifySignature(headers(SIGNATURE, "msg_other"), BODY, right, TS),
  ]);
  for (const result of results) {
    assert.deepEqual(result.ok ? "ok" : result.code, "signature_invalid");
  }
});

Deno.test("verifySignature() accepts rotation: any listed signature, any of a key's secrets", async () => {
  const rotated = [await key("automation", [newSecret(), SECRET])];
  assert.equal((await verifySignature(headers(SIGNATURE), BODY, rotated, TS)).ok, true);
  const several = `v1,Zm9v v1,${"A".repeat(43)}= ${SIGNATURE}`;
  const keys = [await key("automation", [SECRET])];
  assert.equal((await verifySignature(headers(several), BODY, keys, TS)).ok, true);
});

Deno.test("verifySignature() refuses timestamps more than 300 s old or ahead", async () => {
  const keys = [await key("automation", [SECRET])];
  for (const now of [TS + 301, TS - 301]) {
    const result = await verifySignature(headers(SIGNATURE), BODY, keys, now);
    assert.equal(result.ok ? "ok" : result.code, "signature_expired", String(now));
  }
  for (const now of [TS + 300, TS - 300]) {
    assert.equal((await verifySignature(headers(SIGNATURE), BODY, keys, now)).ok, true);
  }
});

Deno.test("verifySignature() refuses missing or malformed headers as missing", async () => {
  const keys = [await key("automation", [SECRET])];
  const cases = [
    new Headers(),
    new Headers({ "webhook-signature": SIGNATURE, "webhook-timestamp": String(TS) }),
    headers(SIGNATURE, ID, "soon"),
    headers(SIGNATURE, "has.dot"),
    headers(SIGNATURE, "has space"),
  ];
  for (const h of cases) {
    const result = await verifySignature(h, BODY, keys, TS);
    assert.equal(result.ok ? "ok" : result.code, "signature_missing");
  }
});

Deno.test("verifySignature() takes GitHub's X-Hub-Signature-256 only for GitHub keys (docs vector)", async () => {
  const body = new TextEncoder().encode("Hello, World!");
  const h = new Headers({
    "x-hub-signature-256":
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
  });
  const plain = [await key("ci", ["It's a Secret to Everybody"], false)];
  const github = [await key("ci", ["It's a Secret to Everybody"], true)];
  assert.equal((await verifySignature(h, body, plain, TS)).ok, false);
  const verified = await verifySignature(h, body, github, TS);
  assert.equal(verified.ok && verified.deliveryId, "github:72d3162e-cc78-11e3-81ab-4c9367dc0958");
  const tampered = await verifySignature(h, new TextEncoder().encode("Hello, World?"), github, TS);
  assert.equal(tampered.ok, false);
});
