/**
 * A progress reporter for training loops: iteration, losses, iterations per second and time left,
 * one line at most every `everySeconds` (plus the first and the last), so it streams live into a
 * notebook cell (tslab streams console.log) or a terminal without flooding them.
 *
 * Usage in a loop (losses are read from the device only when a line is due):
 *   const progress = createProgress({ label: 'task 2 solver', total: 2000 });
 *   for (let it = 1; it <= 2000; it++) {
 *     const loss = step();                       // a Scalar
 *     if (progress.due(it)) progress.report(it, { loss: (await loss.data())[0] });
 *     loss.dispose();
 *   }
 */

export interface ProgressOptions {
  /** Total iterations (the last one is always reported). */
  readonly total: number;
  /** Prefix of every line, e.g. 'task 2 solver'. */
  readonly label?: string;
  /** Minimum seconds between lines (default 10). */
  readonly everySeconds?: number;
  /** Where lines go (default console.log). */
  readonly write?: (line: string) => void;
  /** Clock in seconds (default performance.now() / 1000); tests inject a fake one. */
  readonly now?: () => number;
}

export interface ProgressReporter {
  /** Whether reporting iteration `it` now would print a line (first, last, or `everySeconds` passed). */
  due(it: number): boolean;
  /** Prints a line for iteration `it` if one is due; returns the line or null. */
  report(it: number, losses?: Readonly<Record<string, number>>): string | null;
  /** Number of lines written so far. */
  readonly lines: number;
}

/** "1h02m", "3m05s", "12.3s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(r).padStart(2, '0')}s`;
}

function formatLoss(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toPrecision(4);
}

/**
 * A new reporter. The rate is measured from the reporter's creation (so it includes the first
 * iteration); time left = remaining iterations / rate.
 */
export function createProgress(opts: ProgressOptions): ProgressReporter {
  const { total } = opts;
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`createProgress: total must be a positive integer, got ${String(total)}`);
  const every = opts.everySeconds ?? 10;
  if (!(every >= 0)) throw new RangeError(`createProgress: everySeconds must be >= 0, got ${String(every)}`);
  const write = opts.write ?? ((line: string) => console.log(line));
  const now = opts.now ?? (() => performance.now() / 1000);
  const prefix = opts.label === undefined ? '' : `[${opts.label}] `;
  const width = String(total).length;
  const start = now();
  let lastTime = -Infinity;
  let lastIt = 0;
  let lines = 0;

  const due = (it: number): boolean => {
    if (!Number.isInteger(it) || it < 1 || it > total) throw new RangeError(`progress: iteration ${String(it)} is outside 1..${total}`);
    if (it <= lastIt) return false;
    return lines === 0 || it === total || now() - lastTime >= every;
  };

  return {
    due,
    report(it, losses = {}) {
      if (!due(it)) return null;
      const t = now();
      const elapsed = t - start;
      const rate = elapsed > 0 ? it / elapsed : Number.NaN;
      const left = it === total ? 0 : (total - it) / rate;
      const parts = [`${prefix}iter ${String(it).padStart(width)}/${total} (${((100 * it) / total).toFixed(0).padStart(3)}%)`];
      const lossText = Object.entries(losses).map(([k, v]) => `${k} ${formatLoss(v)}`);
      if (lossText.length > 0) parts.push(lossText.join(' '));
      parts.push(`${Number.isFinite(rate) ? rate.toPrecision(3) : '?'} it/s`);
      parts.push(it === total ? `done in ${formatDuration(elapsed)}` : `elapsed ${formatDuration(elapsed)}, left ${formatDuration(left)}`);
      const line = parts.join(' | ');
      write(line);
      lastTime = t;
      lastIt = it;
      lines++;
      return line;
    },
    get lines() {
      return lines;
    },
  };
}
