#!/usr/bin/env node
// npm start: JupyterLab from the project venv on notebooks/, listening on 127.0.0.1 only.
// Extra arguments go to jupyter lab, e.g. `npm start -- --port 8899 --no-browser`.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const jupyter = path.join(ROOT, '.venv', 'bin', 'jupyter');
if (!fs.existsSync(jupyter)) {
  console.error(
    '[start] .venv/bin/jupyter is missing: run `npm install` (or `npm run setup`) first.',
  );
  process.exit(1);
}
if (!fs.existsSync(path.join(ROOT, 'build', 'lib', 'index.js'))) {
  console.error('[start] build/lib is missing: run `npm run build` first.');
  process.exit(1);
}
const args = ['lab', '--ip=127.0.0.1', `--ServerApp.root_dir=${path.join(ROOT, 'notebooks')}`];
if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--allow-root');
args.push(...process.argv.slice(2));
console.log(
  '[start] JupyterLab on notebooks/ (127.0.0.1 only). Open the http://127.0.0.1 URL ' +
    '(with its token) that JupyterLab prints below; Ctrl+C stops it.',
);
const child = spawn(jupyter, args, {
  stdio: 'inherit',
  env: { ...process.env, JUPYTER_PATH: path.join(ROOT, '.venv', 'share', 'jupyter') },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code) => process.exit(code ?? 0));
