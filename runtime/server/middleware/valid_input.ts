/**
 * A trigger's input: its verified raw body parsed as UTF-8 JSON and checked against the op's
 * schema, so the handler receives only input the op accepts.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { OpSettings } from "../../../ops/types.ts";
import { invalidInput } from "../../invalid_input.ts";
import type { AppEnv } from "../context.ts";
import { Problem } from "../problems.ts";

/** Options of {@linkcode validInput}. */
export interface ValidInputOptions {
  /** The host settings the op's schema depends on. */
  readonly settings: OpSettings;
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new Problem("bad_json", "Body is not valid UTF-8 JSON");
  }
}

/**
 * Sets `input` from `body` (`jsonBody`) for the op (`knownOp`), or refuses it with 400
 * `bad_json` or 422 `invalid_input` and the zod issue paths.
 *
 * @param options The settings for the op's schema.
 * @returns The middleware.
 * @throws {Problem} `bad_json` or `invalid_input`.
 * @example
 * ```ts ignore
 * hooks.post("/:op", knownOp(), jsonBody(), webhookAuth(auth), validInput({ settings }), trigger);
 * ```
 */
export function validInput(options: ValidInputOptions): MiddlewareHandler<AppEnv> {
  const { settings } = options;
  return function validInput(c, next) {
    const op = c.get("op");
    const parsed = op.schema(settings).safeParse(parseJson(c.get("body")));
    if (!parsed.success) {
      const { code, message, issues } = invalidInput(op, parsed.error);
      throw new Problem(code, message, { issues });
    }
    c.set("input", parsed.data);
    return next();
  };
}
