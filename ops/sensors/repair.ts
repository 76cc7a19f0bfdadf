/**
 * A tolerant pre-pass for `sensors -j` output, which lm-sensors 3.5-3.6 does not always print as
 * valid JSON. Each fix is named in `repairs`; nothing here throws.
 *
 * @module
 */

/** The outcome of reading a possibly broken document. */
export interface Repaired {
  readonly value: Record<string, unknown> | undefined;
  readonly repairs: string[];
  readonly error?: string;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

function tryParse(text: string): Record<string, unknown> | undefined {
  try {
    return asObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Splits text into its top-level `{...}` values and reports the depth left open at the end. */
function topLevel(text: string): { parts: string[]; openDepth: number } {
  const parts: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === "{") {
      if (depth === 0) start = i;
      depth++;
    } else if (c === "}" && depth > 0) {
      depth--;
      if (depth === 0) parts.push(text.slice(start, i + 1));
    }
  }
  if (depth > 0) parts.push(text.slice(start));
  return { parts, openDepth: depth };
}

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

/**
 * Parses `sensors -j` stdout, repairing the known lm-sensors defects: stderr lines merged into
 * stdout, bare `nan`/`inf` values, a trailing comma after `"Adapter"` on a chip without
 * features, several concatenated documents, and fragments without their outer braces.
 *
 * @example
 * ```ts
 * import { repairSensorsJson } from "./repair.ts";
 * import assert from "node:assert/strict";
 * const result = repairSensorsJson('{"k10temp-pci-00c3":{"Adapter": "PCI adapter",\n}}');
 * assert.deepEqual(result.value, { "k10temp-pci-00c3": { Adapter: "PCI adapter" } });
 * assert.equal(result.repairs.length, 1);
 * ```
 */
export function repairSensorsJson(stdout: string): Repaired {
  const direct = tryParse(stdout);
  if (direct !== undefined) return { value: direct, repairs: [] };
  const repairs: string[] = [];
  let text = stdout;

  const lines = text.split("\n");
  const kept = lines.filter((line) => /^\s*([{}"\]\[]|$)/.test(line));
  if (kept.length < lines.length) {
    repairs.push(
      `dropped ${lines.length - kept.length} non-JSON line(s), stderr merged into stdout`,
    );
    text = kept.join("\n");
  }

  const bare = /(:\s*)-?(?:nan|inf)\b/gi;
  const bareCount = count(text, bare);
  if (bareCount > 0) {
    repairs.push(`replaced ${bareCount} bare nan/inf value(s) with null`);
    text = text.replace(bare, "$1null");
  }

  if (/^\s*"/.test(text)) {
    repairs.push("wrapped a fragment without its outer braces");
    text = `{${text}\n}`;
  }

  const { parts, openDepth } = topLevel(text);
  if (openDepth > 0) {
    repairs.push(`closed ${openDepth} unclosed brace(s) of truncated output`);
    parts[parts.length - 1] = parts[parts.length - 1]!.replace(/,\s*$/, "") + "}".repeat(openDepth);
  }
  if (parts.length > 1) repairs.push(`merged ${parts.length} concatenated documents`);

  const trailing = /,(\s*[}\]])/g;
  const commas = parts.reduce((n, part) => n + count(part, trailing), 0);
  if (commas > 0) repairs.push(`removed ${commas} trailing comma(s)`);

  const value: Record<string, unknown> = {};
  for (const part of parts) {
    const parsed = tryParse(part.replace(trailing, "$1"));
    if (parsed === undefined) {
      return {
        value: undefined,
        repairs,
        error: "Cannot parse sensors output, even after repairs",
      };
    }
    Object.assign(value, parsed);
  }
  if (parts.length === 0) {
    return { value: undefined, repairs, error: "Cannot parse sensors output: no JSON object" };
  }
  return { value, repairs };
}
