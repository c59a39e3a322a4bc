import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress, formatDuration } from '../lib/engine/progress';

test('writes the first line, then at most one per interval, and the last', () => {
  let clock = 0;
  const lines: string[] = [];
  const p = createProgress({
    total: 100,
    label: 'solver',
    everySeconds: 10,
    write: (l) => lines.push(l),
    now: () => clock,
  });
  const printedAt: number[] = [];
  for (let it = 1; it <= 100; it++) {
    clock += 1; // one iteration per second
    if (p.due(it) && p.report(it, { loss: 1 / it }) !== null) printedAt.push(it);
  }
  assert.deepEqual(printedAt, [1, 11, 21, 31, 41, 51, 61, 71, 81, 91, 100]);
  assert.equal(p.lines, 11);
  assert.equal(
    lines[0],
    '[solver] iter   1/100 (  1%) | loss 1.000 | 1.00 it/s | elapsed 1.0s, left 1m39s',
  );
  assert.equal(
    lines[1],
    '[solver] iter  11/100 ( 11%) | loss 0.09091 | 1.00 it/s | elapsed 11.0s, left 1m29s',
  );
  assert.equal(
    lines[10],
    '[solver] iter 100/100 (100%) | loss 0.01000 | 1.00 it/s | done in 1m40s',
  );
});

test('report returns null when not due; rate and time left follow the clock', () => {
  let clock = 0;
  const lines: string[] = [];
  const p = createProgress({
    total: 1000,
    everySeconds: 5,
    write: (l) => lines.push(l),
    now: () => clock,
  });
  clock = 0.5;
  assert.ok(
    p
      .report(10, { g: 123456, d: -0.0001 })!
      .includes('g 1.235e+5 d -1.000e-4 | 20.0 it/s | elapsed 0.5s, left 49.5s'),
  );
  clock = 3;
  assert.equal(p.due(20), false);
  assert.equal(p.report(20), null);
  clock = 6;
  assert.equal(p.report(300), 'iter  300/1000 ( 30%) | 50.0 it/s | elapsed 6.0s, left 14.0s');
  assert.equal(p.due(300), false, 'an iteration already reported is not due again');
  assert.equal(lines.length, 2);
  assert.throws(() => p.due(1001), /outside 1\.\.1000/);
  assert.throws(() => createProgress({ total: 0 }), /total/);
});

test('formatDuration', () => {
  assert.equal(formatDuration(12.34), '12.3s');
  assert.equal(formatDuration(185), '3m05s');
  assert.equal(formatDuration(3720), '1h02m');
  assert.equal(formatDuration(Number.NaN), '?');
});

test('a live display is updated in place and ends on one compact line', () => {
  let clock = 0;
  const shown: string[] = [];
  const lines: string[] = [];
  const p = createProgress({
    total: 50,
    label: 'task 1/2 a',
    live: { update: (t) => shown.push(t) },
    liveEverySeconds: 1,
    everySeconds: 60,
    write: (l) => lines.push(l),
    now: () => clock,
  });
  for (let it = 1; it <= 50; it++) {
    clock += 0.25;
    if (p.due(it)) p.report(it, { solver: 0.5 });
  }
  assert.equal(lines.length, 0, 'no log lines while a live display is in use');
  // first, then every 4 iterations (1 s), then the last: the live interval, not everySeconds
  assert.equal(shown.length, 14);
  assert.equal(shown.at(-1), '[task 1/2 a] 50 it in 12.5s (4.00 it/s) | solver 0.5000');
  assert.match(
    shown[1]!,
    /^\[task 1\/2 a\] iter {2}5\/50 \( 10%\) \| solver 0.5000 \| 4.00 it\/s \| elapsed/,
  );
});

test('outside a kernel the default is log lines (no live display)', () => {
  const lines: string[] = [];
  const p = createProgress({ total: 2, write: (l) => lines.push(l), now: () => 1 });
  p.report(1);
  p.report(2);
  assert.equal(lines.length, 2);
});
