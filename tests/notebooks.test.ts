/**
 * Checks the committed notebooks against the course's rules: an H1 title and a purpose paragraph,
 * a Summary and Exercises, the tslab kernel, the library imported from ../build/lib (never
 * ../lib source), short cells, committed executed in the default profile without errors, and
 * files small enough to read on GitHub.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const NB_DIR = path.join(__dirname, '..', '..', 'notebooks');

interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
  outputs?: {
    output_type: string;
    name?: string;
    text?: string | string[];
    data?: Record<string, unknown>;
  }[];
}
interface Notebook {
  cells: Cell[];
  metadata: { kernelspec?: { name?: string }; dgr?: { profile?: string; seconds?: number } };
}

const text = (s: string | string[] | undefined): string =>
  Array.isArray(s) ? s.join('') : (s ?? '');
const notebooks = fs
  .readdirSync(NB_DIR)
  .filter((f) => /^\d\d-.*\.ipynb$/.test(f) && !f.includes('.failed.'))
  .sort();

test('the course has notebooks, numbered from 00-setup', () => {
  assert.ok(notebooks.length >= 1);
  assert.equal(notebooks[0], '00-setup.ipynb');
});

for (const file of notebooks) {
  const full = path.join(NB_DIR, file);
  const nb = JSON.parse(fs.readFileSync(full, 'utf8')) as Notebook;
  const md = nb.cells.filter((c) => c.cell_type === 'markdown').map((c) => text(c.source));
  const code = nb.cells.filter((c) => c.cell_type === 'code');

  test(`${file}: title, purpose, Summary and Exercises`, () => {
    assert.match(md[0] ?? '', /^# \S/, 'the first cell is an H1 title');
    assert.ok(
      (md[0] ?? '')
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'))
        .join(' ').length >= 80,
      'the first cell has a purpose paragraph',
    );
    assert.ok(
      md.some((m) => /^## Summary/m.test(m)),
      'a "## Summary" section',
    );
    assert.ok(
      md.some((m) => /^## Exercises/m.test(m)),
      'an "## Exercises" section',
    );
  });

  test(`${file}: tslab kernel, library from ../build/lib, short cells`, () => {
    assert.equal(nb.metadata.kernelspec?.name, 'tslab');
    const sources = code.map((c) => text(c.source));
    assert.ok(
      sources.some((s) => s.includes("from '../build/lib'")),
      'imports the compiled library',
    );
    assert.ok(!sources.some((s) => /from '\.\.\/lib\//.test(s)), 'never imports ../lib source');
    const lines = sources.map((s) => s.split('\n').length).sort((a, b) => a - b);
    const median = lines[Math.floor((lines.length - 1) / 2)] ?? 0;
    assert.ok(median <= 8, `median code cell is ${median} lines (at most 8)`);
  });

  test(
    `${file}: committed executed in the default or (04–08) the paper profile, ` +
      'no errors, under 3 MB',
    () => {
      // The reproduction notebooks 04–08 show paper-profile runs; the theory notebooks 00–03
      // default ones.
      const profile = nb.metadata.dgr?.profile;
      assert.ok(
        profile === 'default' || (profile === 'paper' && /^0[4-8]-/.test(file)),
        `executed in profile ${String(profile)}: ` +
          `run \`npm run notebooks -- --profile default --inplace\`` +
          ' (04–08 also --profile paper)',
      );
      for (const [i, c] of code.entries()) {
        assert.ok(
          (c.outputs ?? []).every((o) => o.output_type !== 'error'),
          `code cell ${i + 1} has an error output`,
        );
        const stderr = (c.outputs ?? [])
          .filter((o) => o.name === 'stderr')
          .map((o) => text(o.text))
          .join('');
        assert.ok(
          !/\bError\b.*\n\s+at /.test(stderr),
          `code cell ${i + 1} shows a stack trace: ${stderr.slice(0, 200)}`,
        );
      }
      assert.ok(
        code.some((c) => (c.outputs ?? []).length > 0),
        'has outputs',
      );
      assert.ok(
        fs.statSync(full).size < 3 * 1024 * 1024,
        `${file} is ${(fs.statSync(full).size / 1e6).toFixed(1)} MB`,
      );
    },
  );
}
