/**
 * How `create-golden-lxc` runs inside its fenced child, through the injected
 * {@linkcode OpHost}: `pct create`, then, only when the input asks for a template and the
 * create succeeded, `pct template <vmid>`.
 *
 * Needs, through `host`: run `pct`.
 *
 * @module
 */
import type { OpHost, ParseOutcome } from "../types.ts";
import { createCommand, parseCreate, parseTemplate, templateCommand } from "./_command.ts";
import type { CreateGoldenLxcError, CreateGoldenLxcInput, CreateGoldenLxcResult } from "./mod.ts";

/** Creates the container and, when asked, converts it into a template. */
export async function executeCreate(
  spec: CreateGoldenLxcInput,
  host: OpHost,
): Promise<ParseOutcome<CreateGoldenLxcResult, CreateGoldenLxcError>> {
  const created = parseCreate(await host.run(createCommand(spec)), spec);
  if (!created.ok || spec.template !== true) return created;
  return parseTemplate(await host.run(templateCommand(spec)), created.value);
}
