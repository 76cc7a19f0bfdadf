import assert from "node:assert/strict";
import { cacheTrustProblems } from "./cache_trust.ts";

async function cache(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "rootfence-cache-" });
  await Deno.mkdir(`${dir}/deno/npm/registry.npmjs.org/zod/4.6.7`, { recursive: true });
  await Deno.writeTextFile(`${dir}/deno/npm/registry.npmjs.org/zod/4.6.7/index.js`, "export {};");
  await Deno.writeTextFile(`${dir}/deno/dep_analysis_cache_v2`, "");
  return dir;
}

Deno.test("cacheTrustProblems() passes a cache only its user can write", async () => {
  const dir = await cache();
  try {
    assert.deepEqual(await cacheTrustProblems(`${dir}/deno`, Deno.uid()!), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cacheTrustProblems() refuses a writable package file, a foreign file and an open parent", async () => {
  const dir = await cache();
  try {
    const file = `${dir}/deno/npm/registry.npmjs.org/zod/4.6.7/index.js`;
    await Deno.chmod(file, 0o666);
    assert.match(
      (await cacheTrustProblems(`${dir}/deno`, Deno.uid()!))[0]!,
      /index\.js" is writable/,
    );
    await Deno.chmod(file, 0o644);
    if (Deno.uid() === 0) {
      await Deno.chown(`${dir}/deno/dep_analysis_cache_v2`, 65534, 65534);
      assert.match(
        (await cacheTrustProblems(`${dir}/deno`, 0))[0]!,
        /dep_analysis_cache_v2" is owned by uid 65534/,
      );
      await Deno.chown(`${dir}/deno/dep_analysis_cache_v2`, 0, 0);
    }
    await Deno.chmod(dir, 0o777);
    assert.match((await cacheTrustProblems(`${dir}/deno`, Deno.uid()!))[0]!, /writable by group/);
  } finally {
    await Deno.chmod(dir, 0o700);
    await Deno.remove(dir, { recursive: true });
  }
});
