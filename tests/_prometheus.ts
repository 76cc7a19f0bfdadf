/**
 * Reads a Prometheus text exposition the way a scraper does (with the `parse-prometheus-text-format`
 * parser), for tests of `/metrics` and of the host series.
 *
 * @module
 */
import parsePrometheus from "parse-prometheus-text-format";

/** One metric family as the parser gives it. */
export interface Family {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}

/** Every family in an exposition. */
export function familiesOf(text: string): Family[] {
  return parsePrometheus(text) as Family[];
}

/** The values of the series of `name` whose labels include `labels`, in exposition order. */
export function valuesOf(
  families: readonly Family[],
  name: string,
  labels: Record<string, string> = {},
): number[] {
  const family = families.find((f) => f.name === name);
  return (family?.metrics ?? [])
    .filter((m) => Object.entries(labels).every(([key, value]) => m.labels?.[key] === value))
    .flatMap((m) => m.value === undefined ? [] : [Number(m.value)]);
}
