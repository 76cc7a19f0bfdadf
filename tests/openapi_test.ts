import { validate } from "@readme/openapi-parser";
import assert from "node:assert/strict";
import type { z } from "zod";
import { OPS } from "../ops/mod.ts";
import { API_SCHEMAS } from "../runtime/server/api_schemas.ts";
import { bench, SCOPED, signedGet, signedPost } from "./_app.ts";

const METHODS = ["get", "post", "put", "patch", "delete", "head", "options", "trace"];

// deno-lint-ignore no-explicit-any
type Doc = any;

async function served(app: Awaited<ReturnType<typeof bench>>["app"]): Promise<Doc> {
  const response = await app.request("/openapi.json");
  assert.equal(response.status, 200);
  return await response.json();
}

/** Every operation of the document as `[method, path, operation]`. */
function operations(doc: Doc): [string, string, Doc][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item as Doc).filter(([method]) => METHODS.includes(method))
      .map(([method, operation]): [string, string, Doc] => [method, path, operation])
  );
}

/**
 * The zod schema the document names for an answer (its `$ref` into the components), so a real
 * answer can be held to it.
 */
function schemaFor(doc: Doc, path: string, method: string, status: number, type: string) {
  const ref: string = doc.paths[path][method].responses[status].content[type].schema.$ref;
  const name = ref.replace("#/components/schemas/", "") as keyof typeof API_SCHEMAS;
  const schema: z.ZodType | undefined = API_SCHEMAS[name];
  assert.ok(schema, `${path} ${method} ${status} names "${ref}"`);
  return schema;
}

Deno.test("GET /openapi.json is valid OpenAPI 3.1 to @readme/openapi-parser", async () => {
  const b = await bench();
  try {
    const doc = await served(b.app);
    assert.equal(doc.openapi, "3.1.0");
    const result = await validate(structuredClone(doc));
    assert.deepEqual(result.valid ? [] : result.errors, []);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.valid, true);
  } finally {
    await b.close();
  }
});

Deno.test("the document has every route the app answers, each with an operationId", async () => {
  const b = await bench();
  try {
    const doc = await served(b.app);
    const ops = operations(doc);
    const hono = (path: string) =>
      path.replace(/^\/hooks\/[a-z0-9-]+$/, "/hooks/:op").replace(/\{(\w+)\}/g, ":$1");
    const documented = new Set(
      ops.map(([method, path]) => `${method.toUpperCase()} ${hono(path)}`),
    );
    const routed = new Set(
      b.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`),
    );
    assert.deepEqual([...documented].sort(), [...routed].sort());
    for (const op of OPS) assert.ok(doc.paths[`/hooks/${op.name}`]?.post, op.name);
    const ids = ops.map(([, , operation]) => operation.operationId);
    assert.ok(ids.every((id) => typeof id === "string" && id.length > 0), String(ids));
    assert.equal(new Set(ids).size, ids.length);
    for (const [method, path, operation] of ops) {
      assert.ok(operation.responses["200"], `${method} ${path} has a 200`);
      for (const [status, response] of Object.entries(operation.responses as Doc)) {
        if (Number(status) < 400) continue;
        assert.ok((response as Doc).content["application/problem+json"], `${path} ${status}`);
      }
    }
  } finally {
    await b.close();
  }
});

Deno.test("what the document says is signed answers 401 unsigned; the rest answers 200", async () => {
  const b = await bench();
  try {
    const doc = await served(b.app);
    const required = Object.keys(doc.security[0]).map((name) =>
      doc.components.securitySchemes[name].name
    );
    assert.deepEqual(required, ["webhook-id", "webhook-timestamp", "webhook-signature"]);
    for (const [method, path, operation] of operations(doc)) {
      const url = `http://rootfence.test${path.replace("{id}", crypto.randomUUID())}`;
      const response = await b.app.request(
        new Request(url, {
          method: method.toUpperCase(),
          ...(method === "post"
            ? { body: "{}", headers: { "content-type": "application/json" } }
            : {}),
        }),
      );
      const signed = (operation.security ?? doc.security).length > 0;
      assert.equal(response.status, signed ? 401 : 200, `${method} ${path}`);
      await response.body?.cancel();
      const other = await b.app.request(url, { method: "DELETE" });
      assert.equal(other.status, 405, `DELETE ${path}`);
    }
  } finally {
    await b.close();
  }
});

Deno.test("the app's answers match the schemas the document names", async () => {
  const b = await bench();
  try {
    const doc = await served(b.app);
    const accepted = await b.app.request(await signedPost("sensors", "{}"));
    const { jobId } = schemaFor(doc, "/hooks/sensors", "post", 202, "application/json")
      .parse(await accepted.json()) as { jobId: string };
    await b.scheduler.waitFor(jobId, 2000);

    const waited = await b.app.request(
      await signedPost("smart", '{"device":"/dev/sda"}', { headers: { prefer: "wait=5" } }),
    );
    assert.equal(waited.status, 200);
    schemaFor(doc, "/hooks/smart", "post", 200, "application/json").parse(await waited.json());

    const list = await b.app.request(await signedGet("/jobs?limit=5"));
    assert.equal(list.status, 200);
    schemaFor(doc, "/jobs", "get", 200, "application/json").parse(await list.json());

    const job = await b.app.request(await signedGet(`/jobs/${jobId}`));
    assert.equal(job.status, 200);
    schemaFor(doc, "/jobs/{id}", "get", 200, "application/json").parse(await job.json());

    const events = await b.app.request(await signedGet(`/jobs/${jobId}/events`));
    assert.equal(events.headers.get("content-type")?.split(";")[0], "text/event-stream");
    const data = (await events.text()).split("\n").filter((line) => line.startsWith("data: "));
    assert.equal(data.length, 3);
    for (const line of data) API_SCHEMAS.Job.parse(JSON.parse(line.slice(6)));

    const missing = await b.app.request(await signedGet(`/jobs/${crypto.randomUUID()}`));
    assert.equal(missing.status, 404);
    schemaFor(doc, "/jobs/{id}", "get", 404, "application/problem+json")
      .parse(await missing.json());

    const invalid = await b.app.request(await signedPost("smart", '{"device":"sda"}'));
    assert.equal(invalid.status, 422);
    schemaFor(doc, "/hooks/smart", "post", 422, "application/problem+json")
      .parse(await invalid.json());

    const outOfScope = await b.app.request(
      await signedPost("smart", '{"device":"/dev/sdb"}', { secret: SCOPED }),
    );
    assert.equal(outOfScope.status, 403);
    const denied = schemaFor(doc, "/hooks/smart", "post", 403, "application/problem+json")
      .parse(await outOfScope.json()) as { code: string; scope: unknown };
    assert.equal(denied.code, "scope_denied");
    assert.deepEqual(denied.scope, [{ field: "device", needs: 'device is "/dev/sda"' }]);
    assert.match(doc.paths["/hooks/smart"].post.responses["403"].description, /scope_denied/);

    const health = await b.app.request("/healthz");
    schemaFor(doc, "/healthz", "get", 200, "application/json").parse(await health.json());
  } finally {
    await b.close();
  }
});
