/**
 * The typed context every route and middleware of the HTTP app shares: what each middleware
 * sets, so that later handlers read a typed value instead of looking a string up again.
 *
 * @module
 */
import type { AnyOp } from "../../ops/types.ts";
import type { LoadedKey } from "./keys.ts";

/** Context variables, each named with the middleware that sets it. */
export interface AppVariables {
  /** A fresh id per request, also sent as `X-Request-Id` (`requestLog`). */
  requestId: string;
  /** The op a trigger names, known to exist (`knownOp`). */
  op: AnyOp;
  /** The raw body of a trigger, bounded and `application/json`, not yet parsed (`jsonBody`). */
  body: Uint8Array<ArrayBuffer>;
  /** The key whose signature verified (`webhookAuth`). */
  key: LoadedKey;
  /** The signed `webhook-id` (`webhookAuth`). */
  deliveryId: string;
  /** The trigger's input, parsed and valid for its op (`validInput`). */
  input: unknown;
  /** The job a request created or read, for the request log (the handlers). */
  jobId: string;
}

/** The Hono environment of the app. */
export interface AppEnv {
  Variables: AppVariables;
}
