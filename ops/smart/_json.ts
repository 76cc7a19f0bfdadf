/**
 * Defensive readers for smartctl's JSON: every field may be absent or of another type in some
 * version, so nothing here trusts a shape.
 *
 * @module
 */

/** A JSON object, or undefined. */
export type Json = Record<string, unknown>;

/** The value as an object, or `undefined`. */
export function obj(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Json
    : undefined;
}

/** The value as an array of objects (non-objects dropped). */
export function objs(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(obj).filter((v): v is Json => v !== undefined) : [];
}

/** The value as a finite number, or `null`. */
export function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** The value as a string, or `null`. */
export function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/**
 * An unsigned counter that smartctl may also write as `<key>_s` (a decimal string) when it
 * exceeds 2^53. Prefers the string; returns a number when it is exact, else the string.
 */
export function counter(parent: Json | undefined, key: string): number | string | null {
  if (parent === undefined) return null;
  const text = parent[`${key}_s`];
  if (typeof text === "string" && /^[0-9]+$/.test(text)) {
    const value = Number(text);
    return Number.isSafeInteger(value) ? value : text;
  }
  return num(parent[key]);
}

/** A counter as a number for comparisons (a huge string counter is simply "large"). */
export function magnitude(value: number | string | null): number {
  if (value === null) return 0;
  return typeof value === "number" ? value : Number(value);
}
