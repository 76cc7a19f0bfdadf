/**
 * A child entry that serves the registry plus the toy op (`_toy_op.ts`): the test bundles it the
 * way `dist/child.js` is bundled and hands it to a launcher as its `entryPath`.
 *
 * @module
 */
import { OPS } from "../ops/mod.ts";
import type { AnyOp } from "../ops/types.ts";
import { serveChild } from "../runtime/child/mod.ts";
import { fanCheck } from "./_toy_op.ts";

if (import.meta.main) await serveChild([...OPS, fanCheck as AnyOp]);
