import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadSummaries, reportHtml, reportMarkdown, saveSummary } from '../lib/report';
import { tempDirs } from './tmp';

const tmpDir = tempDirs('dgr-report-');
const row = {
  experiment: 'split MNIST, class-IL, GR (VAE)',
  metric: 'average accuracy',
  ours: '0.912 ± 0.004',
  reference: '0.9079 ± 0.0041',
  source: 'van de Ven & Tolias 2019',
};

test('saveSummary writes one JSON per notebook and rejects empty or malformed rows', () => {
  const dir = tmpDir();
  const file = saveSummary(
    { notebook: '07-new-classes', title: '07 · New classes', rows: [row] },
    { dir },
  );
  assert.equal(file, path.join(dir, '07-new-classes.json'));
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(saved.rows[0].ours, '0.912 ± 0.004');
  assert.match(saved.savedAt, /^\d{4}-\d\d-\d\dT/);
  assert.throws(
    () => saveSummary({ notebook: '07', title: 't', rows: [] }, { dir }),
    /rows is empty/,
  );
  assert.throws(
    () => saveSummary({ notebook: '07', title: 't', rows: [{ ...row, ours: ' ' }] }, { dir }),
    /rows\[0\]\.ours must be a non-empty string/,
  );
  assert.throws(
    () => saveSummary({ notebook: '../x', title: 't', rows: [row] }, { dir }),
    /file stem/,
  );
});

test('loadSummaries reports unreadable files instead of skipping them silently', () => {
  const dir = tmpDir();
  saveSummary({ notebook: '04-scholar-chain', title: '04', rows: [row] }, { dir });
  fs.writeFileSync(path.join(dir, '05-broken.json'), '{"rows": [');
  const { summaries, problems } = loadSummaries(dir);
  assert.deepEqual(
    summaries.map((s) => s.notebook),
    ['04-scholar-chain'],
  );
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? '', /05-broken\.json: /);
  assert.deepEqual(loadSummaries(path.join(dir, 'missing')), { summaries: [], problems: [] });
});

test('the report lists run times, failures, and our numbers beside the published ones', () => {
  const dir = tmpDir();
  saveSummary(
    { notebook: '07-new-classes', title: '07 · New classes (§4.3)', rows: [row] },
    { dir },
  );
  const { summaries } = loadSummaries(dir);
  const md = reportMarkdown({
    runs: [
      { notebook: '00-setup', ok: true, seconds: 40 },
      {
        notebook: '07-new-classes',
        ok: false,
        seconds: 600,
        error: 'code cell 3 failed: Error: boom',
      },
      { notebook: '08-extra', ok: false, seconds: 0, notRun: true },
    ],
    summaries,
    generatedAt: '2026-11-27T00:00:00Z',
    machine: '2 cores',
  });
  assert.match(md, /\| 00-setup \| ok \| 40 s \|/);
  assert.match(
    md,
    /\| 07-new-classes \| \*\*failed\*\*: code cell 3 failed: Error: boom \| 10\.0 min \|/,
  );
  assert.match(md, /\*\*1 notebook\(s\) failed:\*\* 07-new-classes\./);
  assert.match(md, /\| 08-extra \| not run in the default or paper profile \| — \|/);
  assert.match(md, /\| \*\*total\*\* \| 1 ok, 1 failed, 1 not run \| 10\.7 min \|/);
  assert.match(
    md,
    new RegExp(
      String.raw`\| split MNIST, class-IL, GR \(VAE\) \| average accuracy ` +
        String.raw`\| \*\*0\.912 ± 0\.004\*\* \| — \| 0\.9079 ± 0\.0041 ` +
        String.raw`\| van de Ven & Tolias 2019 \|`,
    ),
  );
  assert.match(md, /not refreshed by this run/);
  assert.match(md, /without a saved summary \(no headline numbers\): 00-setup/);
  const html = reportHtml(md);
  assert.match(html, /<th>notebook<\/th><th>result<\/th><th>run time<\/th>/);
  assert.match(html, /<td><strong>0\.912 ± 0\.004<\/strong><\/td>/);
  assert.match(html, /van de Ven &amp; Tolias 2019/);
});

test(
  'claims: validated when saved, ' + 'and the report opens with one table of every claim checked',
  () => {
    const dir = tmpDir();
    const claim = {
      claim: "five scholars keep the first one's accuracy",
      paper: 'Table 1: about equal',
      ours: '98.1 → 97.5 %',
      holds: false,
    };
    assert.throws(
      () =>
        saveSummary(
          {
            notebook: '04',
            title: 't',
            rows: [row],
            claims: [{ ...claim, holds: 'yes' as unknown as boolean }],
          },
          { dir },
        ),
      /claims\[0\]\.holds must be a boolean/,
    );
    assert.throws(
      () =>
        saveSummary(
          { notebook: '04', title: 't', rows: [row], claims: [{ ...claim, paper: '' }] },
          { dir },
        ),
      /claims\[0\]\.paper must be a non-empty string/,
    );
    saveSummary(
      { notebook: '04-scholar-chain', title: '04', rows: [row], claims: [claim] },
      { dir },
    );
    saveSummary(
      {
        notebook: '07-new-classes',
        title: '07',
        rows: [row],
        claims: [{ ...claim, claim: 'DGR ≥ 90 %', holds: true }],
      },
      { dir },
    );
    const { summaries } = loadSummaries(dir);
    const md = reportMarkdown({
      runs: [],
      summaries,
      generatedAt: '2026-12-01T00:00:00Z',
      machine: '2 cores',
    });
    const claimsAt = md.indexOf("## The paper's claims, checked");
    assert.ok(
      claimsAt > 0 && claimsAt < md.indexOf('## 04'),
      'the claims table comes before the notebooks',
    );
    assert.match(md, /1 of 2 claims hold in our runs/);
    assert.match(
      md,
      new RegExp(
        String.raw`\| five scholars keep the first one's accuracy \| Table 1: about equal ` +
          String.raw`\| 98\.1 → 97\.5 % \| \*\*no\*\* \| 04-scholar-chain \(default\) \|`,
      ),
    );
    assert.match(md, /\| DGR ≥ 90 % \| .* \| yes \| 07-new-classes \(default\) \|/);
  },
);

test('training read back from checkpoints: validated when saved, shown beside the run time', () => {
  const dir = tmpDir();
  assert.throws(
    () =>
      saveSummary(
        {
          notebook: '04',
          title: 't',
          rows: [row],
          training: { seconds: 10, runs: 1, restored: 2 },
        },
        { dir },
      ),
    /training must be \{seconds ≥ 0, runs, restored ≤ runs\}/,
  );
  const training = { seconds: 6762, runs: 10, restored: 10 };
  saveSummary({ notebook: '04-scholar-chain', title: '04', rows: [row], training }, { dir });
  const fresh = { seconds: 600, runs: 2, restored: 0 };
  saveSummary(
    { notebook: '05-independent-tasks', title: '05', rows: [row], training: fresh },
    { dir },
  );
  const { summaries } = loadSummaries(dir);
  assert.deepEqual(summaries[0]!.training, training, 'the training time survives the round trip');
  const md = reportMarkdown({
    runs: [
      { notebook: '04-scholar-chain', ok: true, seconds: 39 },
      { notebook: '05-independent-tasks', ok: true, seconds: 700 },
    ],
    summaries,
    generatedAt: '2026-12-02T00:00:00Z',
    machine: '2 cores',
  });
  assert.match(
    md,
    new RegExp(
      String.raw`\| 04-scholar-chain \| ok \| 39 s; its 10 training runs took 112\.7 min ` +
        String.raw`when they ran \(10 read back from checkpoints\) \|`,
    ),
  );
  assert.match(
    md,
    /\| 05-independent-tasks \| ok \| 11\.7 min \|/,
    'trained in the run: its time only',
  );
  assert.match(md, /\| 12\.3 min \(\+ 112\.7 min of training read back from checkpoints\) \|/);
});
