#!/usr/bin/env node
// npm test: type check + build, lint, format check, unit tests (node's test runner), then every
// notebook executed headlessly in the quick profile into .scratch/ (never over the committed ones).
//   npm test              everything
//   npm run test:unit     type check, lint, format check and unit tests only
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNotebooks } from './run-notebooks.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv[2];
const t0 = Date.now();
const say = (m) => console.log(`[test ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${m}`);
let passed = 0;
let failed = 0;

say('type check and build (tsc -p .)');
const tsc = spawnSync(
  process.execPath,
  [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT],
  { stdio: 'inherit' },
);
if (tsc.status !== 0) {
  console.log('typescript: 0 passed, 1 failed');
  process.exit(1);
}

say('lint (eslint, as npm run lint)');
const lint = spawnSync(
  process.execPath,
  [path.join(ROOT, 'node_modules/eslint/bin/eslint.js'), '.'],
  { cwd: ROOT, stdio: 'inherit' },
);
if (lint.status === 0) passed += 1;
else failed += 1;

say(
  'format check (Prettier layout of lib, scripts, tests, notebook code cells, no line over 100 ' +
    'characters; npm run format fixes the layout, long strings and comments are split by hand)',
);
const format = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'format.mjs'), '--check'], {
  cwd: ROOT,
  stdio: 'inherit',
});
if (format.status === 0) passed += 1;
else failed += 1;

const testDir = path.join(ROOT, 'build', 'tests');
const files = fs.existsSync(testDir)
  ? fs
      .readdirSync(testDir)
      .filter((f) => f.endsWith('.test.js'))
      .sort()
      .map((f) => path.join(testDir, f))
  : [];
say(`unit tests: ${files.length} files (node --test)`);
if (files.length === 0) {
  console.log('unit tests: 0 passed, 1 failed (no test files found in build/tests)');
  process.exit(1);
}
const unit = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], {
  cwd: ROOT,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  maxBuffer: 256 << 20,
});
process.stdout.write(unit.stdout);
const count = (key) =>
  Number((unit.stdout.match(new RegExp(`^# ${key} (\\d+)`, 'm')) ?? [])[1] ?? 0);
passed += count('pass');
failed += count('fail') + (unit.status !== 0 && count('fail') === 0 ? 1 : 0);

if (only !== 'unit') {
  say('notebooks, quick profile');
  const results = runNotebooks(
    {
      profile: 'quick',
      inplace: false,
      out: path.join(ROOT, '.scratch', 'notebooks-quick'),
      timeout: 1200,
      only: [],
    },
    (m) => say(m),
  );
  passed += results.filter((r) => r.ok).length;
  failed += results.filter((r) => !r.ok).length;

  // Every committed notebook (00–08) is opened: figures rendered, none wider than the output area.
  const opened = fs
    .readdirSync(path.join(ROOT, 'notebooks'))
    .filter((f) => /^\d\d-.*\.ipynb$/.test(f) && !f.includes('.failed.'))
    .map((f) => f.slice(0, 2))
    .sort()
    .join(',');
  say(
    'real-browser test: JupyterLab + Chromium, 00-setup Run All, ' +
      `committed notebooks ${opened} opened`,
  );
  const browser = spawnSync(
    process.execPath,
    [path.join(ROOT, 'scripts', 'browser-test.mjs'), '--all', '--only', opened],
    { cwd: ROOT, stdio: 'inherit' },
  );
  // Exit 2 = no browser on this machine: skipped (npm install printed how to add one),
  // except in CI.
  if (browser.status === 0) passed += 1;
  else if (browser.status === 2 && !process.env.DGR_REQUIRE_BROWSER)
    say('browser test SKIPPED: no Chrome/Chromium/Edge (npm run install-chromium adds one)');
  else failed += 1;
}
say(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
console.log(`total: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
