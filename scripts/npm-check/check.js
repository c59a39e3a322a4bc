'use strict';
// Runs as the preinstall script of a dependency of dgr-notebooks. npm runs every dependency's
// preinstall before any dependency's install script, so this runs before
// @tensorflow/tfjs-node's own install script, which downloads libtensorflow from a Google host.
// npm >= 11 skips that script (package.json "allowScripts"), and the project's postinstall builds
// TensorFlow offline instead. npm 10 ignores "allowScripts": there the download runs, and without
// internet it fails with a bare ENOTFOUND. This check says so first, with the command that works.
const dns = require('node:dns');

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

/** null when the install may go on, else the message to fail with. */
async function verdict(env, lookup = resolves) {
  const major = npmMajor(env.npm_config_user_agent);
  if (major === null || major >= 11) return null;
  const host = downloadHost(env);
  return (await lookup(host, 5000)) ? null : fixMessage(major, host);
}

module.exports = { npmMajor, downloadHost, fixMessage, verdict };

if (require.main === module) {
  verdict(process.env).then((msg) => {
    if (msg !== null) {
      console.error(msg);
      process.exit(1);
    }
  });
}
