/** Broken on purpose (audit fixture): an op module that pulls the HTTP framework into a child. */
import { Hono } from "hono";
import { sensors } from "../../ops/sensors/mod.ts";

export const honoOp = { ...sensors, name: "hono-op", app: new Hono() };
