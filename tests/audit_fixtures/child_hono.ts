/** Broken on purpose (audit fixture): a child entry whose registry imports hono. */
import { honoOp } from "./hono_op.ts";

console.log(honoOp.name);
