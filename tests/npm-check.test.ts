/**
 * scripts/npm-check: the preinstall check that stops npm 10 (which ignores package.json's
 * "allowScripts") before @tensorflow/tfjs-node's download script fails offline, with the command
 * that works instead. The committed tarball (what npm installs) must hold the same files as the
 * source folder, and package.json / the lockfile must install it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const SRC = path.join(ROOT, 'scripts', 'npm-check');
const TARBALL = 'scripts/dgr-npm-check-1.0.0.tgz';
type Lookup = (host: string, ms: number) => Promise<boolean>;
const check = createRequire(path.join(SRC, 'check.js'))('./check.js') as {
  npmMajor(ua: string | undefined): number | null;
  downloadHost(env: Record<string, string | undefined>): string;
  verdict(
    env: Record<string, string | undefined>,
    lookup: Lookup,
  ): Promise<{ action: 'go-on' | 'build'; message?: string }>;
  projectRoot(dir?: string): string | null;
};

const ua = (v: string) => `npm/${v} node/v20.20.2 linux x64 workspaces/false`;
const never: Lookup = async () => false;
const always: Lookup = async () => true;

test('npm-check: reads npm major version from the user agent', () => {
  assert.equal(check.npmMajor(ua('10.9.2')), 10);
  assert.equal(check.npmMajor(ua('11.19.1')), 11);
  assert.equal(check.npmMajor('yarn/1.22.0 npm/? node/v20'), null);
  assert.equal(check.npmMajor(undefined), null);
});

test(
  'npm-check: ' + 'npm 10 without a reachable download host builds offline, else the fix',
  async () => {
    const v = await check.verdict({ npm_config_user_agent: ua('10.9.2') }, never);
    assert.equal(v.action, 'build');
    const msg = v.message ?? '';
    assert.match(msg, /npm 10 runs @tensorflow\/tfjs-node's download script/);
    assert.match(msg, /cannot reach storage\.googleapis\.com/);
    assert.match(msg, /`npm ci --ignore-scripts && npm run setup`/);
    assert.equal(msg.split(/[.;] /).length <= 3, true);
  },
);

test('npm-check: npm 11, npm 10 online, or another client: the install goes on', async () => {
  const go = { action: 'go-on' };
  assert.deepEqual(await check.verdict({ npm_config_user_agent: ua('11.19.1') }, never), go);
  assert.deepEqual(await check.verdict({ npm_config_user_agent: ua('10.9.2') }, always), go);
  assert.deepEqual(await check.verdict({ npm_config_user_agent: 'yarn/1.22.0' }, never), go);
});

test('npm-check: a custom TFJS_NODE_CDN_STORAGE is the host checked', async () => {
  const env = { npm_config_user_agent: ua('10.1.0'), TFJS_NODE_CDN_STORAGE: 'https://m.example/' };
  assert.equal(check.downloadHost(env), 'm.example');
  const asked: string[] = [];
  const v = await check.verdict(env, async (h) => (asked.push(h), false));
  assert.deepEqual(asked, ['m.example']);
  assert.match(v.message ?? '', /cannot reach m\.example/);
});

test('npm-check: finds the project it is installed into, and nothing elsewhere', () => {
  assert.equal(check.projectRoot(path.join(ROOT, 'node_modules', 'dgr-npm-check')), ROOT);
  assert.equal(check.projectRoot('/nonexistent/dgr/a'), null);
});

test('npm-check: the committed tarball holds the source files; package.json installs it', () => {
  for (const f of ['check.js', 'package.json']) {
    const r = spawnSync('tar', ['-xzOf', path.join(ROOT, TARBALL), `package/${f}`]);
    assert.equal(r.status, 0, `tar could not read package/${f} from ${TARBALL}`);
    assert.equal(
      r.stdout.toString('utf8'),
      fs.readFileSync(path.join(SRC, f), 'utf8'),
      `${TARBALL} is stale: run (cd scripts/npm-check && npm pack --pack-destination ..)`,
    );
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.dependencies['dgr-npm-check'], `file:${TARBALL}`);
  assert.equal(pkg.allowScripts['dgr-npm-check'], true);
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const locked = lock.packages['node_modules/dgr-npm-check'];
  assert.equal(locked.resolved, `file:${TARBALL}`);
  const sha = createHash('sha512')
    .update(fs.readFileSync(path.join(ROOT, TARBALL)))
    .digest('base64');
  assert.equal(
    locked.integrity,
    `sha512-${sha}`,
    'package-lock.json: stale integrity of the tarball',
  );
});
