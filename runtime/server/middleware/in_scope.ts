/**
 * A trigger's input against its key's scope of the op: after the input is valid for the op and
 * before anything is journaled, so a refused request leaves no job and runs nothing, and its
 * redelivery is refused again.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { scopeFailures } from "../../scopes/match.ts";
import { constraintWords } from "../../scopes/words.ts";
import type { AppEnv } from "../context.ts";
import { Problem } from "../problems.ts";

/**
 * Refuses an input the key's scope of the op does not allow with 403 `scope_denied`. Its detail
 * and its `scope` member name, per alternative of the scope, the first constraint that failed;
 * they echo the scope, never the input. A key without a scope of the op passes.
 *
 * @returns The middleware.
 * @throws {Problem} `scope_denied`.
 * @example
 * ```ts ignore
 * hooks.post("/:op", knownOp(), jsonBody(), webhookAuth(auth), validInput(v), inScope(), trigger);
 * ```
 */
export function inScope(): MiddlewareHandler<AppEnv> {
  return function inScope(c, next) {
    const [key, op, input] = [c.get("key"), c.get("op"), c.get("input")];
    const alternatives = key.scopes?.get(op.name);
    const failed = alternatives === undefined ? undefined : scopeFailures(alternatives, input);
    if (failed === undefined) return next();
    const words = failed.map(constraintWords);
    const why = words.length === 1
      ? `its scope needs ${words[0]}`
      : `no alternative of its scope holds (${
        words.map((w, i) => `${i + 1} needs ${w}`).join("; ")
      })`;
    throw new Problem(
      "scope_denied",
      `Key "${key.id}" may not run "${op.name}" with this input: ${why}`,
      { scope: failed.map((constraint, i) => ({ field: constraint.field, needs: words[i] })) },
    );
  };
}
