/**
 * What a reader sees when opening the committed notebooks (issue: they must look run and stay
 * clean): execution counts 1, 2, 3 ... in cell order, the metadata the tslab kernel reports (so a
 * JupyterLab save changes nothing; the browser test checks one live kernel against it), a Korean
 * summary with a link to an existing section of the review, and no machine paths in 00–03.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const NB_DIR = path.join(ROOT, 'notebooks');
const names = fs
  .readdirSync(NB_DIR)
  .filter((f) => /^\d\d-.*\.ipynb$/.test(f) && !f.includes('.failed.'))
  .sort();
const load = (f: string) => JSON.parse(fs.readFileSync(path.join(NB_DIR, f), 'utf8'));
const src = (s: string | string[]): string => (Array.isArray(s) ? s.join('') : s);

// tslab 1.0.22's kernel_info_reply (node_modules/tslab/dist/jupyter.js, handleKernel).
const TSLAB_LANGUAGE_INFO = {
  codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
  file_extension: '.ts',
  mimetype: 'text/typescript',
  name: 'typescript',
  version: '3.7.2',
};
// The review's headings as GitHub anchors them (README.md of
// ahhnchangjun/Deep-Generative-Replay-review).
const REVIEW_ANCHORS = [
  '평생-학습이란-',
  'dgr-deep-generative-reply-이란-',
  '22-deep-generative-models',
  '3-generative-replay',
  '31-proposed-method',
  '32-preliminary-experiment',
  '4-experiments',
];

for (const name of names) {
  test(`${name}: counts 1..N, tslab's metadata, a Korean summary linking the review`, () => {
    const nb = load(name);
    const counts = nb.cells
      .filter((c: { cell_type: string }) => c.cell_type === 'code')
      .map((c: { execution_count: number | null }) => c.execution_count);
    assert.deepEqual(
      counts,
      counts.map((_: unknown, i: number) => i + 1),
    );
    assert.deepEqual(nb.metadata.language_info, TSLAB_LANGUAGE_INFO);
    assert.deepEqual(nb.metadata.kernelspec, {
      display_name: 'TypeScript',
      language: 'typescript',
      name: 'tslab',
    });
    const file = fs.readFileSync(path.join(NB_DIR, name), 'utf8');
    assert.doesNotMatch(
      file,
      /"seconds": \d+\.0\b/,
      'whole seconds as integers (a JupyterLab save writes 275, not 275.0)',
    );
    const ko = nb.cells.find((c: { id?: string }) => c.id === 'ko-summary');
    assert.ok(ko, 'a markdown cell with id ko-summary');
    assert.equal(nb.cells.indexOf(ko), 1, 'right after the title');
    const lines = src(ko.source)
      .split('\n')
      .filter((l: string) => l.trim() !== '' && !l.startsWith('#'));
    assert.ok(lines.length >= 3 && lines.length <= 6, `${lines.length} lines`);
    assert.match(src(ko.source), /[가-힣]/);
    const anchors = [...src(ko.source).matchAll(/Deep-Generative-Replay-review#([^)\s]+)/g)].map(
      (m) => m[1],
    );
    assert.ok(
      anchors.length >= 1 && anchors.every((a) => REVIEW_ANCHORS.includes(a as string)),
      anchors.join(', '),
    );
  });
}

test('00–03 print no paths of the machine that ran them', () => {
  for (const name of names.filter((n) => /^0[0-3]-/.test(n))) {
    const outputs = JSON.stringify(
      load(name).cells.map((c: { outputs?: unknown }) => c.outputs ?? []),
    );
    for (const p of [ROOT, '/tmp/', '/root/', '/home/'])
      assert.ok(!outputs.includes(p), `${name} prints ${p}`);
  }
});

test('the glossary is bilingual and linked from 02; the preface is in 00 in both languages', () => {
  const glossary = fs.readFileSync(path.join(ROOT, 'docs', 'glossary.md'), 'utf8');
  for (const [en, ko] of [
    ['catastrophic forgetting', '파국적 망각'],
    ['hippocampus', '해마'],
    ['neocortex', '신피질'],
    ['semantic drift', '의미 표류'],
    ['episodic memory', '일화 기억'],
  ]) {
    assert.ok(glossary.includes(en ?? '-') && glossary.includes(ko ?? '-'), `${en} / ${ko}`);
  }
  assert.ok(JSON.stringify(load('02-scholar.ipynb')).includes('../docs/glossary.md'));
  const preface = load('00-setup.ipynb').cells.find((c: { id?: string }) => c.id === 'preface');
  assert.ok(
    preface &&
      /catastrophic forgetting/.test(src(preface.source)) &&
      /파국적 망각/.test(src(preface.source)),
  );
});
