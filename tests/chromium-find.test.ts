import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  chromiumCandidates,
  chromiumInstallPlan,
  findChromium,
  playwrightCacheCandidates,
} from '../lib/figures/chromium';

const has =
  (paths: readonly string[]) =>
  (p: string): boolean =>
    paths.includes(p);
const dirs =
  (tree: Readonly<Record<string, readonly string[]>>) =>
  (d: string): readonly string[] =>
    tree[d] ?? [];

test('findChromium: the PATH comes before the system paths', () => {
  const env = { PATH: ['/opt/bin', '/usr/local/bin'].join(path.delimiter) };
  const exists = has(['/usr/local/bin/google-chrome', '/usr/bin/chromium']);
  assert.equal(
    findChromium(undefined, env, exists, { listDir: dirs({}), home: '/h' }),
    '/usr/local/bin/google-chrome',
  );
});

test('findChromium: Edge and Chrome in their vendor folders', () => {
  const probe = { listDir: dirs({}), home: '/h', platform: 'linux' as const };
  assert.equal(
    findChromium(undefined, {}, has(['/opt/microsoft/msedge/msedge']), probe),
    '/opt/microsoft/msedge/msedge',
  );
  assert.equal(
    findChromium(undefined, {}, has(['/opt/google/chrome/chrome']), probe),
    '/opt/google/chrome/chrome',
  );
});

test(
  "findChromium: playwright's browser cache, newest revision, " +
    'Chromium before the headless shell',
  () => {
    const root = '/h/.cache/ms-playwright';
    const listDir = dirs({
      [root]: ['chromium-1100', 'chromium_headless_shell-1200', 'chromium-1208', 'ffmpeg-1010'],
    });
    const newest = `${root}/chromium-1208/chrome-linux64/chrome`;
    const older = `${root}/chromium-1100/chrome-linux64/chrome`;
    const shell =
      `${root}/chromium_headless_shell-1200/` +
      'chrome-headless-shell-linux64/chrome-headless-shell';
    const probe = { listDir, home: '/h', platform: 'linux' as const };
    assert.equal(findChromium(undefined, {}, has([older, newest, shell]), probe), newest);
    assert.equal(findChromium(undefined, {}, has([shell]), probe), shell);
    const list = playwrightCacheCandidates({}, listDir, '/h', 'linux');
    assert.ok(
      list.indexOf(newest) < list.indexOf(older) && list.indexOf(older) < list.indexOf(shell),
    );
    // $PLAYWRIGHT_BROWSERS_PATH and $XDG_CACHE_HOME move the cache
    const custom = playwrightCacheCandidates(
      { PLAYWRIGHT_BROWSERS_PATH: '/pw', XDG_CACHE_HOME: '/x' },
      dirs({ '/pw': ['chromium-1'], '/x/ms-playwright': ['chromium-2'] }),
      '/h',
      'linux',
    );
    assert.deepEqual(
      custom.filter((p) => p.endsWith('/chrome')),
      [
        '/pw/chromium-1/chrome-linux64/chrome',
        '/pw/chromium-1/chrome-linux/chrome',
        '/x/ms-playwright/chromium-2/chrome-linux64/chrome',
        '/x/ms-playwright/chromium-2/chrome-linux/chrome',
      ],
    );
  },
);

test('findChromium: $DGR_CHROMIUM wins; a wrong one is an error naming it', () => {
  assert.equal(
    findChromium(undefined, { DGR_CHROMIUM: '/c/chrome' }, has(['/c/chrome', '/usr/bin/chromium'])),
    '/c/chrome',
  );
  assert.throws(
    () => findChromium(undefined, { DGR_CHROMIUM: '/c/none' }, has(['/usr/bin/chromium'])),
    /\/c\/none \(\$DGR_CHROMIUM\)/,
  );
  assert.throws(
    () => findChromium(undefined, {}, has([]), { listDir: dirs({}), home: '/h' }),
    /npm run install-chromium.*DGR_CHROMIUM/s,
  );
});

test('chromiumCandidates lists no path twice', () => {
  const list = chromiumCandidates({ PATH: '/usr/bin:/usr/bin' }, { listDir: dirs({}), home: '/h' });
  assert.equal(new Set(list).size, list.length);
  assert.ok(list.includes('/usr/bin/chromium'));
});

test('on this machine: findChromium returns an executable', () => {
  // Detection against the real file system (skipped where no browser is installed).
  let found: string;
  try {
    found = findChromium();
  } catch {
    return;
  }
  assert.ok(path.isAbsolute(found), found);
});

test('chromiumInstallPlan: Debian/Ubuntu as root with apt-get, unless opted out', () => {
  const debian = 'PRETTY_NAME="Debian GNU/Linux 12"\nID=debian\n';
  const ubuntu = 'ID=ubuntu\nID_LIKE=debian\n';
  const base = { platform: 'linux' as const, osRelease: debian, uid: 0, hasAptGet: true, env: {} };
  assert.equal(chromiumInstallPlan(base).install, true);
  assert.equal(chromiumInstallPlan({ ...base, osRelease: ubuntu }).install, true);
  assert.equal(
    chromiumInstallPlan({ ...base, osRelease: 'ID=linuxmint\nID_LIKE="ubuntu debian"\n' }).install,
    true,
  );
  const no = (ctx: Partial<typeof base> & { env?: Record<string, string> }, why: RegExp): void => {
    const plan = chromiumInstallPlan({ ...base, ...ctx });
    assert.equal(plan.install, false);
    assert.match(plan.reason, why);
  };
  no({ env: { DGR_INSTALL_CHROMIUM: '0' } }, /DGR_INSTALL_CHROMIUM=0/);
  no({ env: { DGR_INSTALL_CHROMIUM: 'no' } }, /asks not to/);
  no({ uid: 1000 }, /root/);
  no({ osRelease: 'ID=fedora\n' }, /Debian\/Ubuntu only/);
  no({ osRelease: '' }, /Debian\/Ubuntu only/);
  no({ platform: 'darwin' as never }, /darwin/);
  no({ hasAptGet: false }, /apt-get/);
});
