'use strict';
// Runs as the preinstall script of a dependency of dgr-notebooks. npm runs every dependency's
// preinstall before any dependency's install script, so this runs before
// @tensorflow/tfjs-node's own install script, which downloads libtensorflow from a Google host.
// npm >= 11 skips that script (package.json "allowScripts"), and the project's postinstall builds
// TensorFlow offline instead. npm 10 ignores "allowScripts": there the download runs, and without
// internet it fails with a bare ENOTFOUND. So on npm 10 without a reachable download host this
// builds TensorFlow first with the project's own offline step (`scripts/setup.mjs native`); the
// download script then finds the library and the binding in place and succeeds. If that build
// fails, the install stops here with the command that works, in one sentence.
const dns = require('node:dns');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const DEFAULT_HOST = 'storage.googleapis.com';

/** npm's major version from npm_config_user_agent ("npm/10.9.2 node/v20…"), or null. */
function npmMajor(userAgent) {
  const m = /(?:^|\s)npm\/(\d+)\./.exec(userAgent || '');
  return m ? Number(m[1]) : null;
}

/** The host tfjs-node's install script downloads from (it honours TFJS_NODE_CDN_STORAGE). */
function downloadHost(env) {
  const cdn = env.TFJS_NODE_CDN_STORAGE || env.npm_config_TFJS_NODE_CDN_STORAGE || env.CDN_STORAGE;
  if (!cdn) return DEFAULT_HOST;
  try {
    return new URL(cdn).hostname || DEFAULT_HOST;
  } catch {
    return DEFAULT_HOST;
  }
}

/** The one-sentence fix printed when the download cannot work. */
function fixMessage(major, host) {
  return (
    `dgr-notebooks: npm ${major} runs @tensorflow/tfjs-node's download script, which cannot ` +
    `reach ${host} from this machine; run \`npm ci --ignore-scripts && npm run setup\` ` +
    `instead (or use npm 11 or newer, which skips that script).`
  );
}

/** Whether `host` resolves within `ms` milliseconds. */
function resolves(host, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    dns.lookup(host, (err) => {
      clearTimeout(timer);
      resolve(!err);
    });
  });
}

/** The dgr-notebooks checkout this package was installed into, or null. */
function projectRoot(dir = __dirname) {
  const root = path.resolve(dir, '..', '..');
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const setup = path.join(root, 'scripts', 'setup.mjs');
    return pkg.name === 'dgr-notebooks' && fs.existsSync(setup) ? root : null;
  } catch {
    return null;
  }
}

/** The project's offline TensorFlow build (`node scripts/setup.mjs native`); true when it worked. */
function buildOffline(root) {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'setup.mjs'), 'native'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, DGR_TF_SOURCE: process.env.DGR_TF_SOURCE || 'wheel' },
  });
  return r.status === 0;
}

/**
 * tfjs-node's install script skips its download when its library file exists under the name of
 * the version it would download (deps/lib/libtensorflow.so.2.9.1 on Linux). The offline build
 * names it libtensorflow.so: link that name to it. True when the file is in place.
 */
function markBuilt(root) {
  try {
    const tfjs = path.join(root, 'node_modules', '@tensorflow', 'tfjs-node');
    const { depsLibTensorFlowPath } = require(path.join(tfjs, 'scripts', 'deps-constants.js'));
    if (!fs.existsSync(depsLibTensorFlowPath)) {
      const built = path.join(path.dirname(depsLibTensorFlowPath), 'libtensorflow.so');
      if (!fs.existsSync(built)) return false;
      fs.symlinkSync('libtensorflow.so', depsLibTensorFlowPath);
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * What to do: 'go-on' (npm 11+, another client, or the download host resolves), 'build' (npm 10
 * and the download would fail), with the message to fail with if the build does not work.
 */
async function verdict(env, lookup = resolves) {
  const major = npmMajor(env.npm_config_user_agent);
  if (major === null || major >= 11) return { action: 'go-on' };
  const host = downloadHost(env);
  if (await lookup(host, 5000)) return { action: 'go-on' };
  return { action: 'build', message: fixMessage(major, host) };
}

module.exports = { npmMajor, downloadHost, fixMessage, verdict, projectRoot };

if (require.main === module) {
  verdict(process.env).then((v) => {
    if (v.action === 'go-on') return;
    const root = projectRoot();
    if (root !== null && buildOffline(root) && markBuilt(root)) return;
    console.error(v.message);
    process.exit(1);
  });
}
