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

/**
 * What the executor hands the app with each request, beside the `Request` itself. Tests that
 * call `app.request()` pass none: then the body is read from the `Request`.
 */
export interface AppBindings {
  /**
   * The request's raw body, already decoded from its bridge line: the app takes it as it is
   * instead of reading a copy of it back out of a `Request` stream.
   */
  readonly body?: Uint8Array<ArrayBuffer>;
}

/** The Hono environment of the app. */
export interface AppEnv {
  Bindings: AppBindings;
  Variables: AppVariables;
}
