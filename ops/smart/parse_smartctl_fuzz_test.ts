import assert from "node:assert/strict";
import fc from "fast-check";
import { fixtureDir, fixtureNames } from "../../tests/fixtures.ts";
import { parseSmartctl } from "./parse_smartctl.ts";
import { parseSmartctlScan } from "./scan.ts";

const dir = fixtureDir("smartctl");
const texts = fixtureNames(dir, /\.json$/).map((n) => Deno.readTextFileSync(`${dir}/${n}`));
const HEALTHS = ["ok", "warning", "failing", "unknown"];

Deno.test({
  name: "fuzz: truncated real smartctl output is unknown with a parse error, never a throw",
  ignore: texts.length === 0,
  fn() {
    fc.assert(
      fc.property(
        fc.constantFrom(...texts),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (t, at) => {
          // Drop at least the closing brace, so the document is always cut short.
          const cut = t.slice(0, Math.floor((t.trimEnd().length - 1) * at));
          const report = parseSmartctl(cut);
          assert.equal(report.health, "unknown");
          assert.equal(typeof report.parseError, "string");
          assert.ok(Array.isArray(parseSmartctlScan(cut).devices));
        },
      ),
      { numRuns: 400 },
    );
  },
});

Deno.test({
  name: "fuzz: corrupted real smartctl output always yields a report, never a throw",
  ignore: texts.length === 0,
  fn() {
    const edit = fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.string({ maxLength: 3 }));
    fc.assert(
      fc.property(fc.constantFrom(...texts), fc.array(edit, { maxLength: 8 }), (t, edits) => {
        let text = t;
        for (const [where, insert] of edits) {
          const at = Math.floor(text.length * where);
          text = text.slice(0, at) + insert + text.slice(at + 1);
        }
        const report = parseSmartctl(text);
        assert.ok(HEALTHS.includes(report.health));
        assert.ok(Array.isArray(report.reasons));
        if (report.parseError !== undefined) assert.equal(report.health, "unknown");
        JSON.stringify(report);
      }),
      { numRuns: 400 },
    );
  },
});

Deno.test("fuzz: arbitrary JSON values never break parseSmartctl", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const report = parseSmartctl(JSON.stringify(value));
      assert.ok(HEALTHS.includes(report.health));
    }),
    { numRuns: 500 },
  );
});
