import assert from "node:assert/strict";
import type { FieldRule } from "./types.ts";
import { constraintWords, scopeWords } from "./words.ts";

Deno.test("constraintWords() says each kind of constraint in words, values as JSON", () => {
  const cases: [FieldRule, string][] = [
    [{ kind: "values", values: ["/dev/sda"] }, 'f is "/dev/sda"'],
    [{ kind: "values", values: ["/dev/sda", "/dev/sdb"] }, 'f is "/dev/sda" or "/dev/sdb"'],
    [{ kind: "values", values: [true, undefined] }, "f is true or absent"],
    [{ kind: "values", values: ["8", 8] }, 'f is "8" or 8'],
    [{ kind: "values", values: ['a"\n'] }, 'f is "a\\"\\n"'],
    [{ kind: "range", min: 200, max: 299 }, "f is 200–299"],
    [{ kind: "range", min: 7, max: 7 }, "f is 7"],
    [{ kind: "range", min: 200 }, "f is at least 200"],
    [{ kind: "range", max: 299 }, "f is at most 299"],
  ];
  for (const [rule, words] of cases) assert.equal(constraintWords({ field: "f", rule }), words);
});

Deno.test("scopeWords() joins constraints with and, alternatives with or, and says any input unscoped", () => {
  assert.equal(scopeWords(undefined), "any input");
  assert.equal(
    scopeWords([[
      { field: "vmid", rule: { kind: "range", min: 200, max: 299 } },
      { field: "storage", rule: { kind: "values", values: ["local-lvm"] } },
    ], [{ field: "vmid", rule: { kind: "values", values: [9000] } }]]),
    'vmid is 200–299 and storage is "local-lvm"; or vmid is 9000',
  );
});
