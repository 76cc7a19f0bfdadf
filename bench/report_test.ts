import assert from "node:assert/strict";
import { heldNote, heldRuns, judgeRounds, type RunFigures, WRK_TARGETS } from "./_report.ts";

const target = (name: string) => WRK_TARGETS.find((t) => t.target.startsWith(name))!;

function run(rounds: [p50Ms: number, p99Ms: number, rps: number][]): RunFigures {
  const figures = rounds.map(([p50Ms, p99Ms, rps]) => ({ p50Ms, p99Ms, rps }));
  const mean = (pick: (f: (typeof figures)[number]) => number) =>
    figures.reduce((total, f) => total + pick(f), 0) / figures.length;
  return {
    p50Ms: mean((f) => f.p50Ms),
    p99Ms: mean((f) => f.p99Ms),
    rps: mean((f) => f.rps),
    rounds: figures,
  };
}

Deno.test("judgeRounds() compares each round with the peer's same round, and the verdict is the whole run's", () => {
  // The machine slowed down in round 2 for both systems alike: paired, each round is 0.9 x.
  const peer = run([[5, 9, 200], [5, 9, 100], [5, 9, 200]]);
  const ours = run([[6, 10, 180], [6, 10, 90], [6, 10, 180]]);
  const judged = judgeRounds(target("sensors req/s at c=32"), ours, peer);
  assert.equal(judged.met, true);
  assert.equal(judged.text, "150 (0.900 x); rounds 0.900 x to 0.900 x, met in 3 of 3");
  // Compared across rounds instead, 90 against 200 would read 0.45 x.
  const p50 = judgeRounds(target("sensors p50 at c=1"), ours, peer);
  assert.equal(p50.met, true);
  assert.match(p50.text, /^6 ms \(1\.200 x\); rounds 1\.200 x to 1\.200 x, met in 3 of 3$/);
});

Deno.test("judgeRounds() shows the spread and how many rounds met a target the whole run misses", () => {
  const peer = run([[5, 9, 200], [5, 9, 200], [5, 9, 200], [5, 9, 200]]);
  const ours = run([[5, 11, 150], [5, 13, 170], [5, 12.5, 150], [5, 11.5, 162]]);
  const rps = judgeRounds(target("sensors req/s at c=32"), ours, peer);
  assert.equal(rps.met, false);
  assert.equal(rps.text, "158 (0.790 x); rounds 0.750 x to 0.850 x, met in 2 of 4");
  const p99 = judgeRounds(target("sensors p99 at c=1"), ours, peer);
  assert.equal(p99.met, true);
  assert.equal(p99.text, "12 ms (+3.00 ms); rounds +2.00 ms to +4.00 ms, met in 2 of 4");
});

Deno.test("judgeRounds() on one round: the whole run alone, judged as shown", () => {
  const cases: [string, RunFigures, RunFigures, { text: string; met: boolean }][] = [
    ["smart req/s at c=32", run([[5, 9, 70]]), run([[5, 9, 100]]), {
      text: "70 (0.700 x)",
      met: false,
    }],
    // 129.9 / 162.8 is 0.798: two decimals would print 0.80 beside a miss.
    ["sensors req/s at c=32", run([[5, 9, 129.9]]), run([[5, 9, 162.8]]), {
      text: "129.9 (0.798 x)",
      met: false,
    }],
    // 6.03 - 3.03 is 3.0000000000000004 in floating point: exactly 3 ms over is met.
    ["sensors p99 at c=1", run([[5, 6.03, 1]]), run([[5, 3.03, 1]]), {
      text: "6.03 ms (+3.00 ms)",
      met: true,
    }],
  ];
  for (const [name, ours, peer, expected] of cases) {
    assert.deepEqual(judgeRounds(target(name), ours, peer), expected, name);
  }
});

Deno.test("judgeRounds() meets nothing against a peer that answered nothing, and skips such rounds", () => {
  const rps = target("sensors req/s at c=32");
  assert.deepEqual(judgeRounds(rps, run([[5, 9, 70]]), run([[5, 9, 0]])), {
    text: "70 (webhook's is 0)",
    met: false,
  });
  const peer = run([[5, 9, 100], [5, 9, 0], [5, 9, 100]]);
  const ours = run([[5, 9, 90], [5, 9, 50], [5, 9, 70]]);
  // The whole run compares 70 with 66.7; the round webhook answered nothing in is left out.
  assert.equal(
    judgeRounds(rps, ours, peer).text,
    "70 (1.050 x); rounds 0.700 x to 0.900 x, met in 1 of 2",
  );
});

Deno.test("heldRuns() averages what the journal says, and counts only the held time inside wrk's run", () => {
  const result = (ms: number) => JSON.stringify({ ok: true, command: { durationMs: ms } });
  const runs = [
    { startedAt: 100, finishedAt: 112, result: result(9) },
    { startedAt: 112, finishedAt: 122, result: result(7) },
    // A run that failed before its host command: it held the keys, but timed no command.
    { startedAt: 122, finishedAt: 124, result: JSON.stringify({ ok: false }) },
    // Queued when wrk stopped at 130: only its first 6 ms count as wrk's.
    { startedAt: 124, finishedAt: 136, result: result(10) },
  ];
  assert.deepEqual(heldRuns([{ start: 100, end: 130, runs }]), {
    runs: 4,
    runMs: 9,
    commandMs: 26 / 3,
    busy: 1,
  });
  // Two rounds: their lengths add up, and so do the runs inside them.
  const second = {
    start: 200,
    end: 220,
    runs: [{ startedAt: 200, finishedAt: 210, result: null }],
  };
  assert.equal(heldRuns([{ start: 100, end: 130, runs }, second])!.busy, 40 / 50);
  assert.equal(heldRuns([]), undefined);
  assert.equal(heldRuns([{ start: 0, end: 10, runs: [] }]), undefined);
});

Deno.test("heldNote() states the bound one run at a time sets, and nothing without figures", () => {
  const held = { runs: 800, runMs: 12.5, commandMs: 10, busy: 0.98 };
  const note = heldNote({ rps: 78.4, held });
  assert.match(note, /held the device 98% of wrk's time \(journal: 800 runs\)/);
  assert.match(note, /A read held it 12\.50 ms from\nits start to its end, 10\.00 ms of that/);
  assert.match(note, /the other 2\.50 ms are/);
  assert.match(note, /at most 80\.0 req\/s \(1000 \/ 12\.50\); rootfence answered 78\.4\.$/);
  // With the peer's figure, the bound of the host command alone, one at a time.
  const bound = heldNote({ rps: 78.4, held }, { rps: 150 });
  assert.match(
    bound,
    /at most 100\.0 req\/s one read at a time \(1000 \/ 10\.00\), 0\.667 x webhook's 150\.0: below/,
  );
  assert.match(
    heldNote({ rps: 78.4, held }, { rps: 120 }),
    /0\.833 x webhook's 120\.0: the 0\.8 x target is within/,
  );
  assert.doesNotMatch(note, /The host command alone/);
  assert.equal(heldNote({ rps: 78.4 }), "");
  assert.equal(heldNote(undefined), "");
});
