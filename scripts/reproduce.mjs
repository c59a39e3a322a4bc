#!/usr/bin/env node
// npm run reproduce: every notebook in order, in the default (real) profile, executed in place
// (the committed notebooks keep their outputs), every figure exported to figures/, and
// reports/summary.md + reports/summary.html putting our numbers beside the paper's and the
// reference implementations', with each notebook's run time. A failing notebook does not stop
// the others (its committed copy is left untouched, the partial run saved as *.failed.ipynb),
// and the report says which failed.
//   npm run reproduce                 all notebooks
//   npm run reproduce -- 04 07        some of them (the report still lists every notebook and
//                                     saved summary)
//   npm run reproduce -- --report     only rebuild the report from the committed notebooks and
//                                     saved summaries
//   npm run reproduce -- --profile paper 04   the paper-scale profile (04–08; others run their
//                                             default sizes)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { listNotebooks, runNotebooks } from './run-notebooks.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const report = require(path.join(ROOT, 'build', 'lib', 'report.js'));

const argv = process.argv.slice(2);
const reportOnly = argv.includes('--report');
const profileAt = argv.indexOf('--profile');
const profile = profileAt >= 0 ? argv[profileAt + 1] : 'default';
if (!['default', 'paper'].includes(profile)) {
  console.error(
    `reproduce: --profile ${profile}: use default or paper (quick is for the tests: ` +
      'npm run notebooks)',
  );
  process.exit(2);
}
const only = argv.filter(
  (a, i) => a !== '--report' && a !== '--profile' && (profileAt < 0 || i !== profileAt + 1),
);
const t0 = Date.now();
const ran = reportOnly
  ? []
  : runNotebooks(
      {
        profile,
        inplace: true,
        out: null,
        timeout: 3 * 3600,
        only,
        env: { DGR_EXPORT_FIGURES: '1' },
      },
      (m) =>
        console.log(`[reproduce ${((Date.now() - t0) / 60000).toFixed(1).padStart(5)} min] ${m}`),
    );
// Notebooks not run now are reported from their committed copy: its last execution's profile and
// time.
const results = listNotebooks().map((nb) => {
  const r = ran.find((x) => x.notebook === nb);
  if (r !== undefined) return r;
  const meta = JSON.parse(fs.readFileSync(path.join(ROOT, 'notebooks', nb), 'utf8')).metadata?.dgr;
  const ok = meta?.profile === 'default' || meta?.profile === 'paper';
  return { notebook: nb, ok, seconds: ok ? meta.seconds : 0, ...(ok ? {} : { notRun: true }) };
});
const { summaries, problems } = report.loadSummaries();
const machine =
  `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ` +
  `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const markdown = report.reportMarkdown({
  runs: results.map((r) => ({
    notebook: r.notebook.replace(/\.ipynb$/, ''),
    ok: r.ok,
    seconds: r.seconds,
    ...(r.error ? { error: r.error } : {}),
    ...(r.notRun ? { notRun: true } : {}),
  })),
  summaries,
  problems,
  generatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  machine,
});
fs.mkdirSync(path.join(ROOT, 'reports'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'reports', 'summary.md'), markdown);
fs.writeFileSync(path.join(ROOT, 'reports', 'summary.html'), report.reportHtml(markdown));
const failed = ran.filter((r) => !r.ok);
console.log(
  '[reproduce] wrote reports/summary.md and reports/summary.html; figures in figures/; ' +
    `${((Date.now() - t0) / 60000).toFixed(1)} min in all`,
);
console.log(`reproduce: ${ran.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length === 0 ? 0 : 1);
