import assert from "node:assert/strict";
import { readContent, signatureHeaders, signStandard } from "./signing.ts";

// Standard Webhooks test vector (spec libraries' TestWebhookSign).
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS = 1614265330;
const BODY = new TextEncoder().encode('{"test": 2432232314}');
const SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

Deno.test("signStandard() reproduces the spec's test vector", async () => {
  assert.equal(await signStandard(SECRET, ID, String(TS), BODY), SIGNATURE);
});

Deno.test("signatureHeaders() names the id and timestamp it signed, fresh ones by default", async () => {
  assert.deepEqual(await signatureHeaders(SECRET, BODY, { id: ID, timestamp: TS }), {
    "webhook-id": ID,
    "webhook-timestamp": String(TS),
    "webhook-signature": SIGNATURE,
  });
  const fresh = await signatureHeaders(SECRET, BODY);
  assert.match(fresh["webhook-id"], /^msg_[0-9a-f-]{36}$/);
  assert.ok(Math.abs(Number(fresh["webhook-timestamp"]) - Date.now() / 1000) < 5);
});

Deno.test("readContent() signs the path and query, never the host", () => {
  const decode = (url: string) => new TextDecoder().decode(readContent(url));
  assert.equal(decode("http://a.test:1/jobs/x/events"), "GET /jobs/x/events");
  assert.equal(decode("http://b.test/jobs?op=smart&limit=5"), "GET /jobs?op=smart&limit=5");
});
