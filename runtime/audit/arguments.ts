/**
 * Check 5, the argument fence: each op's schema against the hostile corpus, one field at a
 * time, starting from the op's valid example. No hostile value may pass (and so reach argv).
 *
 * @module
 */
import type { AnyOp, OpSettings } from "../../ops/types.ts";
import { HOSTILE, hostileVariants } from "./hostile.ts";
import { type CheckResult, result } from "./types.ts";

/** Runs check 5. */
export function checkArguments(ops: readonly AnyOp[], settings: OpSettings): CheckResult {
  const problems: string[] = [];
  const verified: string[] = [];
  const evidence: Record<string, number> = {};
  for (const op of ops) {
    const schema = op.schema(settings);
    const example = op.example as Record<string, unknown>;
    if (!schema.safeParse(example).success) {
      problems.push(`${op.name}: its own example is refused`);
      continue;
    }
    let tried = 0;
    const fields = Object.keys(example);
    // An op without fields still gets every hostile value as an extra key.
    for (const field of fields.length ? fields : ["extra"]) {
      for (const { family, value } of hostileVariants(example[field])) {
        tried++;
        const input = { ...example, [field]: value };
        if (schema.safeParse(input).success) {
          problems.push(`${op.name}.${field} accepts ${family}: ${JSON.stringify(value)}`);
        }
      }
    }
    for (const family of Object.keys(HOSTILE)) {
      tried++;
      if (schema.safeParse({ ...example, [`${family}-key`]: "x" }).success) {
        problems.push(`${op.name} accepts an unknown key`);
      }
    }
    evidence[op.name] = tried;
    verified.push(`${op.name}: ${tried} hostile inputs refused`);
  }
  return result("argument-fence", "Argument fence", problems, verified, evidence);
}
