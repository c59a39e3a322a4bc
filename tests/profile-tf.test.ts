import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { activeProfile, byProfile } from '../lib/profile';
import { tf, versions } from '../lib/tf';

test('profiles: default unless DGR_PROFILE says quick; unknown values are errors', () => {
  assert.equal(activeProfile({}), 'default');
  assert.equal(activeProfile({ DGR_PROFILE: 'quick' }), 'quick');
  assert.throws(
    () => activeProfile({ DGR_PROFILE: 'fast' }),
    /DGR_PROFILE=fast is not a profile; use one of: default, quick, paper/,
  );
  assert.equal(byProfile({ default: 2000, quick: 50 }, 'quick'), 50);
  assert.equal(activeProfile({ DGR_PROFILE: 'paper' }), 'paper');
  assert.equal(byProfile({ default: 2000, quick: 50, paper: 5000 }, 'paper'), 5000);
  assert.equal(
    byProfile({ default: 2000, quick: 50 }, 'paper'),
    2000,
    'paper falls back to default',
  );
  assert.equal(byProfile({ default: 2000, quick: 50, paper: 5000 }, 'default'), 2000);
});

test('TensorFlow runs on the native backend', () => {
  assert.equal(tf.getBackend(), 'tensorflow');
  assert.equal(versions().backend, 'tensorflow');
  assert.match(versions().libtensorflow, /^2\./);
});

test('a binding that cannot load gives an error that names the fix', () => {
  // Simulate a missing native binding in a child process: make require('@tensorflow/tfjs-node')
  // throw.
  const tfModule = path.join(__dirname, '..', 'lib', 'tf.js');
  const script =
    `
    const Module = require('module');
    const orig = Module._load;
    Module._load = function (req, ...rest) {
      if (req === '@tensorflow/tfjs-node') ` +
    `throw new Error('libtensorflow.so.2: cannot open shared object file');
      return orig.call(this, req, ...rest);
    };
    require(${JSON.stringify(tfModule)});`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(
    r.stderr,
    new RegExp(
      'NativeBackendError: The native TensorFlow backend is not available: ' +
        String.raw`libtensorflow\.so\.2: cannot open shared object file`,
    ),
  );
  assert.match(r.stderr, /run `npm run setup`/);
});
