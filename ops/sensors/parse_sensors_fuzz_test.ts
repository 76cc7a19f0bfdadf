import assert from "node:assert/strict";
import fc from "fast-check";
import { fixtureDir, fixtureNames } from "../../tests/fixtures.ts";
import { parseSensors } from "./parse_sensors.ts";

const dir = fixtureDir("sensors");
const texts = fixtureNames(dir, /\.(json|txt)$/).map((n) => Deno.readTextFileSync(`${dir}/${n}`));

Deno.test({
  name: "fuzz: truncated or corrupted real sensors output gives chips or a typed error",
  ignore: texts.length === 0,
  fn() {
    const edit = fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.string({ maxLength: 3 }));
    fc.assert(
      fc.property(
        fc.constantFrom(...texts),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(edit, { maxLength: 6 }),
        (t, keep, edits) => {
          let text = t.slice(0, Math.ceil(t.length * keep));
          for (const [where, insert] of edits) {
            const at = Math.floor(text.length * where);
            text = text.slice(0, at) + insert + text.slice(at + 1);
          }
          const report = parseSensors(text, 0);
          if (report.error !== undefined) assert.deepEqual(report.chips, []);
          for (const chip of report.chips) {
            for (const r of chip.readings) {
              assert.ok(r.input === null || Number.isFinite(r.input));
            }
          }
          JSON.stringify(report);
        },
      ),
      { numRuns: 600 },
    );
  },
});

Deno.test("fuzz: arbitrary text and JSON never break parseSensors", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
      const report = parseSensors(text);
      assert.ok(Array.isArray(report.chips) && Array.isArray(report.repairs));
    }),
    { numRuns: 500 },
  );
});
