/**
 * A progress reporter for training loops: iteration, losses, iterations per second and time left.
 *
 * In a tslab kernel (JupyterLab, nbconvert) it shows ONE display per reporter that is updated in
 * place about every `liveEverySeconds`; when the loop ends the display is replaced by one compact
 * line (iterations, time, rate, last losses), so the saved notebook keeps one line per task.
 * Elsewhere (scripts, tests) or when `write` is given, it writes a line at most every
 * `everySeconds` (plus the first and the last).
 *
 * Usage in a loop (losses are read from the device only when a line is due):
 *   const progress = createProgress({ label: 'task 2 solver', total: 2000 });
 *   for (let it = 1; it <= 2000; it++) {
 *     const loss = step();                       // a Scalar
 *     if (progress.due(it)) progress.report(it, { loss: (await loss.data())[0] });
 *     loss.dispose();
 *   }
 */

import { newLiveText, type LiveText } from '../figures/display';

export interface ProgressOptions {
  /** Total iterations (the last one is always reported). */
  readonly total: number;
  /** Prefix of every line, e.g. 'task 2 solver'. */
  readonly label?: string;
  /** Minimum seconds between lines (default 10). */
  readonly everySeconds?: number;
  /** Where lines go (default console.log). Giving it turns the live display off. */
  readonly write?: (line: string) => void;
  /**
   * A display updated in place instead of lines; default: a new tslab display when running in a
   * tslab kernel and `write` is not given, else none (null = lines even in a kernel).
   */
  readonly live?: LiveText | null;
  /** Minimum seconds between two updates of the live display (default 1). */
  readonly liveEverySeconds?: number;
  /** Clock in seconds (default performance.now() / 1000); tests inject a fake one. */
  readonly now?: () => number;
}

export interface ProgressReporter {
  /**
   * Whether reporting iteration `it` now would print a line (first, last, or `everySeconds`
   * passed).
   */
  due(it: number): boolean;
  /** Prints a line for iteration `it` if one is due; returns the line or null. */
  report(it: number, losses?: Readonly<Record<string, number>>): string | null;
  /** Number of lines written (or live updates made) so far. */
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
  if (!Number.isInteger(total) || total < 1)
    throw new RangeError(`createProgress: total must be a positive integer, got ${String(total)}`);
  const live =
    opts.live !== undefined ? opts.live : opts.write === undefined ? newLiveText() : null;
  const every = live !== null ? (opts.liveEverySeconds ?? 1) : (opts.everySeconds ?? 10);
  if (!(every >= 0))
    throw new RangeError(`createProgress: everySeconds must be >= 0, got ${String(every)}`);
  const write = opts.write ?? ((line: string) => console.log(line));
  const now = opts.now ?? (() => performance.now() / 1000);
  const prefix = opts.label === undefined ? '' : `[${opts.label}] `;
  const width = String(total).length;
  const start = now();
  let lastTime = -Infinity;
  let lastIt = 0;
  let lines = 0;

  const due = (it: number): boolean => {
    if (!Number.isInteger(it) || it < 1 || it > total)
      throw new RangeError(`progress: iteration ${String(it)} is outside 1..${total}`);
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
      const parts = [
        `${prefix}iter ${String(it).padStart(width)}/${total} ` +
          `(${((100 * it) / total).toFixed(0).padStart(3)}%)`,
      ];
      const lossText = Object.entries(losses)
        .map(([k, v]) => `${k} ${formatLoss(v)}`)
        .join(' ');
      const rateText = `${Number.isFinite(rate) ? rate.toPrecision(3) : '?'} it/s`;
      if (lossText.length > 0) parts.push(lossText);
      parts.push(rateText);
      parts.push(
        it === total
          ? `done in ${formatDuration(elapsed)}`
          : `elapsed ${formatDuration(elapsed)}, left ${formatDuration(left)}`,
      );
      let line = parts.join(' | ');
      if (live !== null && it === total) {
        // The line the saved notebook keeps: what ran, how long, how fast, where the losses ended.
        line =
          `${prefix}${total} it in ${formatDuration(elapsed)} ` +
          `(${rateText})${lossText ? ` | ${lossText}` : ''}`;
      }
      if (live !== null) live.update(line);
      else write(line);
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
