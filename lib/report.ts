/**
 * The reproduction report: each notebook saves a small summary of its headline numbers beside the
 * paper's and the reference implementations' (`saveSummary`, at the end of the notebook), and
 * `npm run reproduce` gathers them into `reports/summary.md` and `reports/summary.html`
 * (`renderReport`), with each notebook's run time and which notebooks failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from './fsutil';
import { activeProfile, ProfileName } from './profile';

/**
 * One headline number: ours beside the published ones. Values are display strings (e.g. "0.912 ±
 * 0.004").
 */
export interface SummaryRow {
  /** What was run, e.g. "split MNIST, class-IL, generative replay (VAE)". */
  readonly experiment: string;
  /** What is measured, e.g. "average accuracy after 5 tasks". */
  readonly metric: string;
  readonly ours: string;
  /** The DGR paper's number (Shin et al. 2017), if it reports one. */
  readonly paper?: string;
  /** A reference implementation's number, with its source in `source`. */
  readonly reference?: string;
  /** Where `paper`/`reference` come from, e.g. "van de Ven & Tolias 2019, Table 2". */
  readonly source?: string;
  readonly note?: string;
}

/**
 * One claim of the paper checked against our run: `holds` is computed by the notebook from its
 * numbers (never typed in), e.g. `holds: Math.abs(acc5 - acc1) <= 0.01`.
 */
export interface Claim {
  /** The paper's claim in one line, e.g. "a chain of 5 scholars keeps the first one's accuracy". */
  readonly claim: string;
  /** The paper's value or statement, with its spread type if it has one. */
  readonly paper: string;
  /** Our measurement, with its spread type (e.g. "mean ± sd over 3 seeds"). */
  readonly ours: string;
  readonly holds: boolean;
}

/** The training behind a notebook's numbers (see `trainingTime` and `runTimeLine`). */
export interface TrainingTime {
  /** Seconds of training of all its runs, as they took when they ran. */
  readonly seconds: number;
  /** Training runs shown. */
  readonly runs: number;
  /** Of those, read back from checkpoints by the execution that saved the summary. */
  readonly restored: number;
}

export interface NotebookSummary {
  /** Notebook file stem, e.g. "07-new-classes". */
  readonly notebook: string;
  readonly title: string;
  readonly profile: ProfileName;
  readonly rows: readonly SummaryRow[];
  /** The paper's claims this notebook checks (04–07); absent in older summaries. */
  readonly claims?: readonly Claim[];
  /** The training behind the numbers (notebooks that train; absent in older summaries). */
  readonly training?: TrainingTime;
  /** ISO time the summary was saved. */
  readonly savedAt: string;
}

/** `$DGR_RESULTS_DIR/summaries`, else `results/summaries` at the repository root. */
export function defaultSummariesDir(): string {
  const results = process.env.DGR_RESULTS_DIR ?? path.resolve(__dirname, '..', '..', 'results');
  return path.join(results, 'summaries');
}

const STEM = /^[0-9A-Za-z][0-9A-Za-z_.-]*$/;

/** Saves a notebook's summary (atomically) as `<dir>/<notebook>.json`; returns the file. */
export function saveSummary(
  summary: Omit<NotebookSummary, 'savedAt' | 'profile'>,
  opts: { readonly dir?: string } = {},
): string {
  if (!STEM.test(summary.notebook))
    throw new RangeError(
      `saveSummary: notebook must be a file stem like '07-new-classes', ` +
        `got ${JSON.stringify(summary.notebook)}`,
    );
  if (summary.rows.length === 0)
    throw new RangeError(
      `saveSummary(${summary.notebook}): rows is empty; give at least one headline number`,
    );
  for (const [i, r] of summary.rows.entries()) {
    for (const k of ['experiment', 'metric', 'ours'] as const) {
      if (typeof r[k] !== 'string' || r[k].trim() === '')
        throw new RangeError(
          `saveSummary(${summary.notebook}): rows[${i}].${k} must be a non-empty string`,
        );
    }
  }
  for (const [i, c] of (summary.claims ?? []).entries()) {
    for (const k of ['claim', 'paper', 'ours'] as const) {
      if (typeof c[k] !== 'string' || c[k].trim() === '') {
        throw new RangeError(
          `saveSummary(${summary.notebook}): claims[${i}].${k} must be a non-empty string`,
        );
      }
    }
    if (typeof c.holds !== 'boolean') {
      throw new RangeError(
        `saveSummary(${summary.notebook}): claims[${i}].holds must be a boolean computed from ` +
          `the run, got ${String(c.holds)}`,
      );
    }
  }
  const t = summary.training;
  if (
    t !== undefined &&
    !(
      Number.isFinite(t.seconds) &&
      t.seconds >= 0 &&
      Number.isInteger(t.runs) &&
      Number.isInteger(t.restored) &&
      t.restored >= 0 &&
      t.restored <= t.runs
    )
  )
    throw new RangeError(
      `saveSummary(${summary.notebook}): training must be {seconds ≥ 0, runs, restored ≤ runs} ` +
        `(use trainingTime(runs)), got ${JSON.stringify(t)}`,
    );
  const full: NotebookSummary = {
    ...summary,
    profile: activeProfile(),
    savedAt: new Date().toISOString(),
  };
  const file = path.join(opts.dir ?? defaultSummariesDir(), `${summary.notebook}.json`);
  writeFileAtomic(file, JSON.stringify(full, null, 1) + '\n');
  return file;
}

/**
 * Every saved summary in `dir`, by notebook name; a file that cannot be read is reported, not
 * skipped silently.
 */
export function loadSummaries(dir: string = defaultSummariesDir()): {
  summaries: NotebookSummary[];
  problems: string[];
} {
  const summaries: NotebookSummary[] = [];
  const problems: string[] = [];
  if (!fs.existsSync(dir)) return { summaries, problems };
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    try {
      const s = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as NotebookSummary;
      if (!Array.isArray(s.rows) || typeof s.notebook !== 'string')
        throw new Error('not a notebook summary (rows/notebook missing)');
      summaries.push(s);
    } catch (err) {
      problems.push(`${path.join(dir, f)}: ${(err as Error).message}`);
    }
  }
  return { summaries, problems };
}

/** How one notebook's execution went. */
export interface NotebookRun {
  readonly notebook: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly error?: string;
  /** Not executed in a real (default or paper) profile at all (neither in this run nor before). */
  readonly notRun?: boolean;
}

export interface ReportInput {
  readonly runs: readonly NotebookRun[];
  readonly summaries: readonly NotebookSummary[];
  readonly problems?: readonly string[];
  readonly generatedAt: string;
  /** Free text about the machine, e.g. "2 cores, no GPU". */
  readonly machine: string;
}

const cell = (s: string | undefined): string =>
  s === undefined || s === '' ? '—' : s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const minutes = (s: number): string =>
  s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;

/** The run-time cell: the execution's time, and the training it read back from checkpoints. */
function runTimeCell(r: NotebookRun, t: TrainingTime | undefined): string {
  if (r.notRun) return '—';
  if (t === undefined || t.restored === 0) return minutes(r.seconds);
  return (
    `${minutes(r.seconds)}; its ${t.runs} training runs took ${minutes(t.seconds)} when they ran ` +
    `(${t.restored} read back from checkpoints)`
  );
}

/** The report as Markdown. */
export function reportMarkdown(input: ReportInput): string {
  const out: string[] = [];
  const total = input.runs.reduce((a, r) => a + r.seconds, 0);
  const trainingOf = (notebook: string): TrainingTime | undefined =>
    input.summaries.find((s) => s.notebook === notebook)?.training;
  const readBack = input.runs
    .map((r) => trainingOf(r.notebook))
    .filter((t): t is TrainingTime => t !== undefined && t.restored > 0)
    .reduce((a, t) => a + t.seconds, 0);
  const failed = input.runs.filter((r) => !r.ok && !r.notRun);
  const notRun = input.runs.filter((r) => r.notRun);
  out.push('# dgr-notebooks: reproduction summary', '');
  out.push(
    `Generated ${input.generatedAt} by \`npm run reproduce\` on ${input.machine}. ` +
      'Every number below was measured by the notebook named beside it, in the profile named ' +
      'with it, in this run or the run that saved its summary.',
    '',
  );
  const claims = input.summaries.flatMap((s) =>
    (s.claims ?? []).map((c) => ({ ...c, notebook: s.notebook, profile: s.profile })),
  );
  if (claims.length > 0) {
    const held = claims.filter((c) => c.holds).length;
    out.push(
      "## The paper's claims, checked",
      '',
      `${held} of ${claims.length} claims hold in our runs; ` +
        `\`holds\` is computed by each notebook from its own numbers.`,
      '',
    );
    out.push('| claim | paper | ours | holds | notebook (profile) |', '|---|---|---|---|---|');
    for (const c of claims)
      out.push(
        `| ${cell(c.claim)} | ${cell(c.paper)} | ${cell(c.ours)} | ${c.holds ? 'yes' : '**no**'} ` +
          `| ${c.notebook} (${c.profile}) |`,
      );
    out.push('');
  }
  out.push('## Notebooks', '', '| notebook | result | run time |', '|---|---|---|');
  for (const r of input.runs)
    out.push(
      `| ${r.notebook} | ` +
        (r.ok
          ? 'ok'
          : r.notRun
            ? 'not run in the default or paper profile'
            : `**failed**: ${cell(r.error)}`) +
        ` | ${runTimeCell(r, trainingOf(r.notebook))} |`,
    );
  out.push(
    `| **total** | ${input.runs.length - failed.length - notRun.length} ok, ` +
      `${failed.length} failed${notRun.length ? `, ${notRun.length} not run` : ''} | ` +
      minutes(total) +
      (readBack > 0 ? ` (+ ${minutes(readBack)} of training read back from checkpoints)` : '') +
      ' |',
    '',
  );
  if (failed.length > 0)
    out.push(
      `**${failed.length} notebook(s) failed:** ${failed.map((r) => r.notebook).join(', ')}. ` +
        'Their numbers below, if any, are from an earlier saved summary.',
      '',
    );
  for (const s of input.summaries) {
    const run = input.runs.find((r) => r.notebook === s.notebook);
    const stale = run === undefined || !run.ok;
    out.push(
      `## ${s.title}`,
      '',
      `Notebook \`${s.notebook}.ipynb\`, profile ${s.profile}, ` +
        `summary saved ${s.savedAt}${stale ? ' (not refreshed by this run)' : ''}.`,
      '',
    );
    out.push(
      '| experiment | metric | ours | paper (Shin et al. 2017) | reference | source | note |',
      '|---|---|---|---|---|---|---|',
    );
    for (const r of s.rows)
      out.push(
        `| ${cell(r.experiment)} | ${cell(r.metric)} | **${cell(r.ours)}** | ${cell(r.paper)} | ` +
          `${cell(r.reference)} | ${cell(r.source)} | ${cell(r.note)} |`,
      );
    out.push('');
  }
  const missing = input.runs
    .filter((r) => r.ok && !input.summaries.some((s) => s.notebook === r.notebook))
    .map((r) => r.notebook);
  if (missing.length > 0)
    out.push(`Notebooks without a saved summary (no headline numbers): ${missing.join(', ')}.`, '');
  for (const p of input.problems ?? []) out.push(`- unreadable summary: ${p}`);
  return out.join('\n').trimEnd() + '\n';
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The same report as a standalone HTML page (tables and paragraphs of the Markdown above). */
export function reportHtml(markdown: string): string {
  const body: string[] = [];
  const lines = markdown.split('\n');
  const inline = (s: string): string =>
    esc(s)
      .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
      .replace(/`([^`]+)`/g, '<code>$1</code>');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && (lines[i] as string).startsWith('|')) {
        const cells = (lines[i] as string)
          .slice(1, -1)
          .split(/(?<!\\)\|/)
          .map((c) => c.trim().replace(/\\\|/g, '|'));
        if (!cells.every((c) => /^-+$/.test(c))) rows.push(cells);
        i++;
      }
      i--;
      const [head, ...rest] = rows;
      body.push(
        '<table>',
        `<tr>${(head ?? []).map((c) => `<th>${inline(c)}</th>`).join('')}</tr>`,
        ...rest.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`),
        '</table>',
      );
    } else if (l.startsWith('## ')) body.push(`<h2>${inline(l.slice(3))}</h2>`);
    else if (l.startsWith('# ')) body.push(`<h1>${inline(l.slice(2))}</h1>`);
    else if (l.startsWith('- ')) body.push(`<p>• ${inline(l.slice(2))}</p>`);
    else if (l.trim() !== '') body.push(`<p>${inline(l)}</p>`);
  }
  return (
    '<!doctype html>\n<html><head><meta charset="utf-8">' +
    '<title>dgr-notebooks: reproduction summary</title>\n' +
    '<style>body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em}' +
    'table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;' +
    'text-align:left}th{background:#f4f4f4}code{background:#f4f4f4;padding:0 .2em}</style>\n' +
    `</head><body>\n${body.join('\n')}\n</body></html>\n`
  );
}
